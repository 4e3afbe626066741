#!/usr/bin/env bash
# One-command set-up for a fresh Debian / Raspberry Pi OS machine.
#   ./bootstrap.sh demo   install what is missing, then run `chargepoint demo`
#   ./bootstrap.sh test   install what is missing (test peers too), then run the whole test suite
# Idempotent: a second run only re-checks. Uses sudo for apt when not root.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-demo}"; shift || true
VENV="${CHARGEPOINT_VENV:-.venv}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
python3 - <<'PY' 2>/dev/null || need_apt+=(python3-dev)
import sysconfig, os, sys
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
PY
command -v gcc >/dev/null || need_apt+=(gcc)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
pkg-config --exists libsystemd 2>/dev/null || need_apt+=(libsystemd-dev)
if [ "$mode" = test ]; then
    command -v node >/dev/null || need_apt+=(nodejs)
    command -v npm >/dev/null || need_apt+=(npm)
    command -v systemd-analyze >/dev/null || need_apt+=(systemd)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing ${need_apt[*]} with apt" >&2
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
if [ "$mode" = test ]; then
    "$VENV/bin/python" -m pip install -q -e ".[systemd,test]"
else
    "$VENV/bin/python" -m pip install -q -e ".[systemd]"
fi

case "$mode" in
demo)
    exec "$VENV/bin/chargepoint" demo "$@"
    ;;
test)
    if [ ! -d tests/interop/node_modules/ocpp-rpc ]; then
        (cd tests/interop && npm install --no-audit --no-fund --loglevel=error)
    fi
    "$VENV/bin/ruff" check chargepoint hardware tests bench
    "$VENV/bin/mypy" --strict chargepoint hardware
    exec "$VENV/bin/python" -m pytest -n 2 -q "$@"
    ;;
*)
    echo "usage: $0 {demo|test} [args...]" >&2
    exit 2
    ;;
esac
