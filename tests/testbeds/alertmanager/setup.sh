#!/usr/bin/env bash
# Install Debian's Alertmanager for tests/test_monitoring.py (the alerts of
# alerts/xenon.rules.yml must arrive in a real one). Idempotent and quick when
# it is there already. Nothing is started here: the tests start their own on
# loopback with a throw-away storage dir and clustering off (the package's
# systemd unit is never used). promtool comes with the prometheus package
# (tests/testbeds/prometheus/setup.sh).
set -euo pipefail

if command -v prometheus-alertmanager >/dev/null 2>&1 || [ -x /usr/bin/prometheus-alertmanager ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends prometheus-alertmanager \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends prometheus-alertmanager; }
# The package's unit may have started a server on :9093; the tests use their own.
if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
fi
[ -x /usr/bin/prometheus-alertmanager ]
