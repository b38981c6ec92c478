#!/usr/bin/env bash
# Install Debian's NATS server (2.9, with JetStream) for tests/test_nats_feed.py,
# and openssl (the TLS test makes its own CA and server certificate).
# Idempotent and quick when it is there already. Nothing is started here: the
# tests start their own server on loopback with `-js` and a throw-away store
# (the package's systemd unit is never used).
set -euo pipefail

have_server() {
    command -v nats-server >/dev/null 2>&1 || [ -x /usr/bin/nats-server ] || [ -x /usr/sbin/nats-server ]
}
if have_server && command -v openssl >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends nats-server openssl \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends nats-server openssl; }
have_server && command -v openssl >/dev/null 2>&1
