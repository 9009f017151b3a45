#!/usr/bin/env bash
# THE demo command: load the sample district into a fresh embedded store
# (demo-output/gridgeo.sqlite), write its check, hotspots, problem-list lifecycle and
# coverage report (HTML, PDF, static maps) into demo-output/, then serve the maps on it.
# Env: PORT (8000), HOST (127.0.0.1). Stop the service with Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
mkdir -p demo-output
rm -rf demo-output/gridgeo.sqlite* demo-output/report
DB=sqlite:///demo-output/gridgeo.sqlite
AS_OF=2025-05-26   # the end of the sample district's twelve-week visit period
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"

set -x
.venv/bin/gridgeo load shapes/sample_district.gpkg --db "$DB"
.venv/bin/gridgeo info --db "$DB"
.venv/bin/gridgeo check --db "$DB" --as-of "$AS_OF" --out demo-output/check.gpkg
.venv/bin/gridgeo hotspots --db "$DB" --out demo-output/hotspots.gpkg
.venv/bin/gridgeo lifecycle --db "$DB" --as-of "$AS_OF" --out demo-output/lifecycle.xlsx
.venv/bin/gridgeo report --db "$DB" --as-of "$AS_OF" --out demo-output/report
set +x
cat <<MSG

Written to demo-output/: check.gpkg/.xlsx, hotspots.gpkg, lifecycle.xlsx, and report/
(coverage report as HTML and PDF, with static maps).

The service now runs on the sample district (read-only demo, no token needed):
  coverage map:   http://$HOST:$PORT/maps/coverage?as_of=$AS_OF
  hotspot map:    http://$HOST:$PORT/maps/hotspots
  report:         http://$HOST:$PORT/reports/coverage?as_of=$AS_OF
  API docs:       http://$HOST:$PORT/docs
MSG
GRIDGEO_AUTH=off exec .venv/bin/gridgeo serve --db "$DB" --host "$HOST" --port "$PORT"
