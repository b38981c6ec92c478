#!/usr/bin/env bash
# Install the Rucio *server* (rucio + gunicorn) in its own virtual environment,
# .venv-rucio-server at the top of the repo. It cannot share the app's venv:
# the server package `rucio` and the app's `rucio-clients` both install the
# `rucio` module. Idempotent: a stamp records the constraints it was built
# from, so a second run returns at once. The tests start and stop the server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="${RUCIO_SERVER_VENV:-$root/.venv-rucio-server}"
python="${PYTHON:-python3}"
stamp="$venv/.installed"

if [ -f "$stamp" ] && cmp -s "$stamp" "$here/constraints.txt"; then
    exit 0
fi
test -x "$venv/bin/python" || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$here/constraints.txt" rucio gunicorn
# Importing the REST app needs a rucio.cfg; check the packages are there.
"$venv/bin/python" -c "import gunicorn, rucio.vcsversion"
cp "$here/constraints.txt" "$stamp"
echo "rucio server installed in $venv"
