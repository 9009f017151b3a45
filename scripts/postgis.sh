#!/usr/bin/env bash
# Make sure a local PostgreSQL with PostGIS is running, then (re)create a fresh database
# with the postgis extension and print its SQLAlchemy URL on stdout (the only stdout line).
#
# Usage: scripts/postgis.sh [DBNAME]          (default DBNAME: gridgeo_test)
# Env:   PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres),
#        PG_VERSION (the newest in /etc/postgresql, else 15), PG_CLUSTER (main),
#        PG_WAIT_SECONDS (60)
#
# Idempotent. On a fresh Debian machine (run as root) it installs postgresql-$PG_VERSION and
# postgresql-$PG_VERSION-postgis-3, creates/starts the cluster and, only when it installed the
# server itself, lets local TCP connections in without a password (as on the dev machines).
set -euo pipefail

DB="${1:-gridgeo_test}"
export PGHOST="${PGHOST:-127.0.0.1}"
export PGPORT="${PGPORT:-5432}"
export PGUSER="${PGUSER:-postgres}"
PG_CLUSTER="${PG_CLUSTER:-main}"
WAIT_SECONDS="${PG_WAIT_SECONDS:-60}"

LOG_NAME=postgis.sh
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

if [ -z "${PG_VERSION:-}" ]; then
    # shellcheck disable=SC2012  # version directories are plain numbers
    PG_VERSION="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)"
    PG_VERSION="${PG_VERSION:-15}"
fi

# 1. Packages.
installed_server=0
if [ ! -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ]; then
    apt_install "postgresql-$PG_VERSION"
    installed_server=1
fi
if [ ! -f "/usr/share/postgresql/$PG_VERSION/extension/postgis.control" ]; then
    apt_install "postgresql-$PG_VERSION-postgis-3"
fi
[ -f "/usr/share/postgresql/$PG_VERSION/extension/postgis.control" ] \
    || die "postgis.control still missing for PostgreSQL $PG_VERSION after installing"

# 2. The server. Only a local cluster can be created, configured or started from here.
is_local=0
case "$PGHOST" in 127.0.0.1 | localhost) is_local=1 ;; esac
conf_dir="/etc/postgresql/$PG_VERSION/$PG_CLUSTER"

if [ "$is_local" -eq 1 ] && [ ! -d "$conf_dir" ] && ! pg_isready -h "$PGHOST" -p "$PGPORT" -q; then
    log "creating cluster $PG_VERSION/$PG_CLUSTER on port $PGPORT"
    quiet pg_createcluster -p "$PGPORT" "$PG_VERSION" "$PG_CLUSTER"
    installed_server=1
fi

hba_changed=0
if [ "$is_local" -eq 1 ] && [ "$installed_server" -eq 1 ] && [ -f "$conf_dir/pg_hba.conf" ]; then
    # A new Debian cluster wants a password over TCP; the project's machines trust local
    # TCP connections, so do the same on a server that this script installed or created.
    hba="$conf_dir/pg_hba.conf"
    if ! grep -q '^# gridgeo: trust local TCP' "$hba"; then
        log "trusting local TCP connections in $hba"
        tmp="$(mktemp)"
        {
            echo "# gridgeo: trust local TCP (added by scripts/postgis.sh)"
            echo "host all all 127.0.0.1/32 trust"
            echo "host all all ::1/128 trust"
            cat "$hba"
        } >"$tmp"
        cat "$tmp" >"$hba"
        rm -f "$tmp"
        hba_changed=1
    fi
fi

if [ "$is_local" -eq 1 ] && ! pg_isready -h "$PGHOST" -p "$PGPORT" -q; then
    [ -d "$conf_dir" ] || die "nothing answers on $PGHOST:$PGPORT and there is no cluster $conf_dir"
    log "starting cluster $PG_VERSION/$PG_CLUSTER"
    status=0
    out="$(pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start 2>&1)" \
        || status=$?
    # Exit status 2 means "already running" (started, perhaps not yet accepting connections).
    if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
        echo "$out" >&2
        die "could not start PostgreSQL $PG_VERSION/$PG_CLUSTER (exit $status)"
    fi
elif [ "$hba_changed" -eq 1 ]; then
    log "reloading cluster $PG_VERSION/$PG_CLUSTER"
    quiet pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" reload
fi

waited=0
until pg_isready -h "$PGHOST" -p "$PGPORT" -q; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
        pg_isready -h "$PGHOST" -p "$PGPORT" >&2 || true
        hint=""
        [ "$is_local" -eq 1 ] && hint=" (log: /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log)"
        die "PostgreSQL at $PGHOST:$PGPORT is not accepting connections after ${WAIT_SECONDS}s$hint"
    fi
    sleep 1
    waited=$((waited + 1))
done

# 3. A fresh database with PostGIS.
psql_() {
    PGOPTIONS="-c client_min_messages=warning" \
        psql -X -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -v ON_ERROR_STOP=1 "$@"
}

log "recreating database $DB"
psql_ -d postgres -v db="$DB" >/dev/null <<'SQL' || die "could not recreate database $DB"
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
CREATE DATABASE :"db";
SQL
psql_ -d "$DB" -c 'CREATE EXTENSION postgis' >/dev/null \
    || die "could not create the postgis extension in $DB"

echo "postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$DB"
