#!/usr/bin/env bash
# Helpers shared by the set-up scripts (sourced; set LOG_NAME first).

log() { echo "${LOG_NAME:-gridgeo}: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Run a command with its output hidden unless it fails.
quiet() {
    local out
    out="$(mktemp)"
    if ! "$@" >"$out" 2>&1; then
        cat "$out" >&2
        rm -f "$out"
        die "command failed: $*"
    fi
    rm -f "$out"
}

apt_updated=0
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
    [ "$(id -u)" -eq 0 ] || die "need root to install $* (re-run as root or install them by hand)"
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        quiet env DEBIAN_FRONTEND=noninteractive apt-get update
        apt_updated=1
    fi
    log "apt-get install $*"
    quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}
