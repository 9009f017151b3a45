#!/usr/bin/env bash
# THE test command: set up, recreate the gridgeo_test PostGIS database, run pytest.
# Usage: scripts/test.sh [PYTEST ARGS...]     (exits with pytest's status)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
url="$(bash scripts/postgis.sh gridgeo_test)"
export GRIDGEO_TEST_POSTGIS_URL="$url"
echo "test.sh: GRIDGEO_TEST_POSTGIS_URL=$GRIDGEO_TEST_POSTGIS_URL" >&2

status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
