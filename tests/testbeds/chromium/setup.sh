#!/usr/bin/env bash
# Install Debian's Chromium and its WebDriver for tests/test_serve.py and
# bench/serve.py (the console served by `xenon-console serve`, read in a real
# headless browser driven by Selenium), and a monospace font so the xterm.js
# screen and its screenshot have glyphs. Idempotent and quick when it is there
# already. Nothing is started here: the tests start their own `serve` on
# loopback and their own headless Chromium.
set -euo pipefail

have_all() {
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
        && [ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ]
}
if have_all; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
PACKAGES="chromium chromium-driver fonts-dejavu-core"
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends $PACKAGES; }
have_all
