#!/usr/bin/env bash
# Fetch the third-party browser assets the map pages use (Leaflet, VectorGrid, MarkerCluster,
# jQuery, Bootstrap, Font Awesome) and the API documentation pages use (Swagger UI, ReDoc) from
# the npm registry, at pinned versions, into the git-ignored api/static/vendor/<package>/
# folders. The service serves them itself at /static/vendor/...,
# so a page loads nothing from outside. Idempotent: a package already unpacked at its pinned
# version is skipped. Needs `npm` (Debian: apt-get install npm) and the registry, at install
# time only. Env: VENDOR_DIR (api/static/vendor), NPM (npm).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOG_NAME=vendor.sh
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

VENDOR_DIR="${VENDOR_DIR:-api/static/vendor}"
NPM="${NPM:-npm}"

# package@version; keep in step with api/maps/assets.py (VENDOR_ASSETS) and api/docs.py (DOCS_ASSETS)
PACKAGES=(
    leaflet@1.9.4
    leaflet.vectorgrid@1.3.0
    leaflet.markercluster@1.5.3
    jquery@3.7.1
    bootstrap@5.2.2
    @fortawesome/fontawesome-free@6.2.0
    leaflet.awesome-markers@2.0.5
    swagger-ui-dist@5.35.0
    redoc@3.0.1
)

missing=()
for spec in "${PACKAGES[@]}"; do
    name="${spec%@*}"
    version="${spec##*@}"
    stamp="$VENDOR_DIR/$name/.gridgeo-version"
    [ "$(cat "$stamp" 2>/dev/null || true)" = "$version" ] || missing+=("$spec")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

command -v "$NPM" >/dev/null || apt_install npm
command -v "$NPM" >/dev/null || die "npm not found; install it (apt-get install npm)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for spec in "${missing[@]}"; do
    name="${spec%@*}"
    version="${spec##*@}"
    log "npm pack $spec"
    tarball="$(cd "$work" && "$NPM" pack --silent --cache "$work/.npm" "$spec" | tail -n 1)"
    [ -f "$work/$tarball" ] || die "npm pack $spec did not produce a tarball"
    target="$VENDOR_DIR/$name"
    rm -rf "$target.tmp"
    mkdir -p "$target.tmp"
    tar -xzf "$work/$tarball" -C "$target.tmp" --strip-components=1 --no-same-owner
    echo "$version" >"$target.tmp/.gridgeo-version"
    rm -rf "$target"
    mv "$target.tmp" "$target"
done
log "vendored ${#missing[@]} package(s) into $VENDOR_DIR"
