#!/bin/sh
# Idempotent set-up of everything the project needs on Debian 12:
# system packages, then the Python environment in .venv with the test extras.
set -eu
cd "$(dirname "$0")/.."

# systemd: systemd-analyze verify for the units in ivr/deploy/systemd (tests/deploy); no running systemd needed.
# graphviz: `ivr flow graph` output is rendered with dot in a test. chromium: the web console's browser tests.
APT_PACKAGES="python3 python3-venv espeak-ng sox debootstrap postgresql libsndfile1 procps iproute2 graphviz systemd chromium chromium-driver"
missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "bootstrap: installing system packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null \
    || { $SUDO apt-get update >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null; }
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing the project and its test extras into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi
