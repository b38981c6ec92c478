#!/usr/bin/env bash
# Install Debian's Prometheus server for tests/test_prometheus_server.py.
# Idempotent and quick when it is there already. Nothing is started here: the
# tests start their own server on loopback with a throw-away storage dir
# (the package's systemd unit is never used).
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends prometheus
command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ]
