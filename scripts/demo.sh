#!/usr/bin/env bash
# THE demo command: load every layer of the sample district into a fresh embedded store
# (demo-output/gridgeo.sqlite) and print a summary of it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
mkdir -p demo-output
rm -f demo-output/gridgeo.sqlite demo-output/gridgeo.sqlite-journal
DB=sqlite:///demo-output/gridgeo.sqlite

set -x
.venv/bin/gridgeo load shapes/sample_district.gpkg --db "$DB"
.venv/bin/gridgeo info --db "$DB"
