#!/usr/bin/env bash
# Install what gridgeo needs to run and test, idempotently:
#   - .venv (python3 -m venv; installs Debian's python3-venv when the venv module is missing)
#   - the package, editable, with the test extras (pip re-runs only when pyproject.toml changed)
#   - Debian's docker-compose (the tests validate docker-compose.yml with `docker-compose config`)
#   - the map pages' browser assets from the npm registry (scripts/vendor.sh), and Debian's
#     chromium and fonts-noto-cjk (PDF reports, Chinese in images, the browser tests)
# Env: PYTHON (python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.gridgeo-pyproject.sha256"

LOG_NAME=setup.sh
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

command -v "$PYTHON" >/dev/null || apt_install python3 python3-venv
command -v "$PYTHON" >/dev/null || die "$PYTHON not found"

# 1. The virtual environment.
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
        # Debian's own python3 ships venv/ensurepip separately.
        pyver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        apt_install python3-venv "python$pyver-venv"
    fi
    log "creating $VENV with $("$PYTHON" --version 2>&1)"
    rm -rf "$VENV"
    quiet "$PYTHON" -m venv "$VENV"
fi

# 2. The package, re-installed only when pyproject.toml changed since the last install.
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    log "pip install -e '.[test]' (pyproject.toml changed or first install)"
    rm -f "$STAMP"
    quiet "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e '.[test]'
    echo "$want" >"$STAMP"
fi

# 3. docker-compose, to validate docker-compose.yml (no Docker engine needed for `config`).
if ! command -v docker-compose >/dev/null; then
    apt_install docker-compose
fi

# 4. The map pages' browser assets (Leaflet and its plugins) from the npm registry, into the
#    git-ignored api/static/vendor/; and a browser with CJK fonts for tests/test_browser.py.
command -v npm >/dev/null || apt_install npm
scripts/vendor.sh
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
    apt_install chromium fonts-noto-cjk
fi
