#!/usr/bin/env bash
# Install the system packages OneMap needs: PostgreSQL server binaries with PostGIS and
# pgRouting (for the embedded cluster, layers/embedded.py) and GDAL's ogr2ogr (ingest).
#
#   scripts/install-system-deps.sh            install whatever is missing (Debian/Ubuntu, apt)
#   scripts/install-system-deps.sh --dry-run  only say what it would do
#
# Idempotent and quiet when everything is there. It never starts, stops or upgrades a
# PostgreSQL server: the distro's own "main" cluster is not created, services are not
# started during the install (policy-rc.d), and installed packages are not upgraded.
# As root it also makes sure the `postgres` account exists: PostgreSQL refuses to run
# as root, so the embedded cluster runs as that account.
set -euo pipefail

PG_LIB=${ONEMAP_PG_LIB:-/usr/lib/postgresql}      # overridable for testing this script
PG_SHARE=${ONEMAP_PG_SHARE:-/usr/share/postgresql}
DEFAULT_MAJOR=15
DRY_RUN=0
[[ ${1:-} == --dry-run ]] && DRY_RUN=1

say() { echo "install-system-deps: $*" >&2; }

run() {
  if ((DRY_RUN)); then say "would run: $*"; else "$@"; fi
}

# Installed PostgreSQL major versions (with initdb), oldest first.
installed_majors() {
  local bindir
  for bindir in "$PG_LIB"/*/bin; do
    [[ -x $bindir/initdb ]] && basename "$(dirname "$bindir")"
  done | sort -V
}

# Some installed version has initdb, PostGIS and pgRouting, and ogr2ogr is on PATH.
# Packages OneMap needs besides PostgreSQL: venv support for `python3 -m venv`, a CJK
# font so map tiles can label features in Chinese, Node.js + npm to build the map viewer
# and chromium for its browser tests (docs/adr/0012-viewer.md), nginx (light) as the load
# balancer the scale-out tests put in front of two replicas (docs/adr/0021-scale-out.md).
extra_missing() {
  python3 -c 'import ensurepip, venv' 2>/dev/null || echo python3-venv
  [[ -n $(fc-list :lang=zh 2>/dev/null) ]] || echo fonts-noto-cjk
  command -v node >/dev/null || echo nodejs
  command -v npm >/dev/null || echo npm
  command -v chromium >/dev/null || echo chromium
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || echo nginx-light
}

have_everything() {
  command -v ogr2ogr >/dev/null || return 1
  [[ -z $(extra_missing) ]] || return 1
  local major
  for major in $(installed_majors); do
    [[ -f $PG_SHARE/$major/extension/postgis.control &&
       -f $PG_SHARE/$major/extension/pgrouting.control ]] && return 0
  done
  return 1
}

# The newest installed server's major version, else 15, else the distro's default.
choose_major() {
  local newest
  newest=$(installed_majors | tail -n1)
  if [[ -n $newest ]]; then echo "$newest"; return; fi
  if apt-cache show "postgresql-$DEFAULT_MAJOR" >/dev/null 2>&1; then
    echo "$DEFAULT_MAJOR"; return
  fi
  apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9][0-9]*\)$/\1/p' |
    head -n1 | grep . || echo "$DEFAULT_MAJOR"
}

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Root runs commands directly; others need sudo without a password prompt.
SUDO=()
can_administer() {
  if ((EUID == 0)); then return 0; fi
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=(sudo -n); return 0; fi
  return 1
}

ensure_postgres_account() {
  getent passwd postgres >/dev/null && return 0
  say "creating the 'postgres' system account (the embedded cluster runs as it under root)"
  run "${SUDO[@]}" useradd --system --user-group --home-dir /var/lib/postgresql \
    --shell /bin/bash --comment "PostgreSQL administrator" postgres
}

print_manual_steps() {
  local major=$1
  say "missing PostgreSQL $major + PostGIS + pgRouting and/or GDAL, and cannot install them here."
  say "Run as root:"
  say "  apt-get update && apt-get install -y postgresql-$major postgresql-$major-postgis-3 \\"
  say "      postgresql-$major-pgrouting gdal-bin python3-venv fonts-noto-cjk nodejs npm chromium \\"
  say "      nginx-light"
  say "or set ONEMAP_DATABASE_URL to an existing PostGIS server."
}

# Keep the packages from creating and starting the distro's own cluster (it would take
# port 5432 or 5433): no main cluster, and no service starts while we install.
suppress_distro_cluster() {
  local dropin=/etc/postgresql-common/createcluster.d/onemap-no-main-cluster.conf
  if [[ ! -e $dropin ]]; then
    run "${SUDO[@]}" mkdir -p "$(dirname "$dropin")"
    if ((DRY_RUN)); then say "would write: create_main_cluster = false > $dropin"
    else echo "create_main_cluster = false" | "${SUDO[@]}" tee "$dropin" >/dev/null; fi
  fi
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    run "${SUDO[@]}" sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d &&
      chmod 755 /usr/sbin/policy-rc.d'
    trap 'run "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
}

install_missing() {
  local major=$1 package missing=()
  for package in "postgresql-$major" "postgresql-$major-postgis-3" \
    "postgresql-$major-pgrouting" gdal-bin $(extra_missing); do
    is_installed "$package" || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    say "all packages are installed, yet a file is missing; reinstall them with apt-get"
    return 1
  fi
  say "installing: ${missing[*]}"
  suppress_distro_cluster
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends --no-upgrade "${missing[@]}"
}

main() {
  if have_everything; then
    if ((EUID == 0)); then ensure_postgres_account; fi
    return 0
  fi
  if ! command -v apt-get >/dev/null || ! can_administer; then
    print_manual_steps "$(installed_majors | tail -n1 | grep . || echo "$DEFAULT_MAJOR")"
    return 1
  fi
  say "updating the package lists"
  if ((DRY_RUN)); then say "would run: apt-get update"; else "${SUDO[@]}" apt-get update -q; fi
  install_missing "$(choose_major)"
  if ((EUID == 0)); then ensure_postgres_account; fi
  if ((DRY_RUN == 0)) && ! have_everything; then
    say "installation finished but PostGIS/pgRouting/ogr2ogr are still missing"
    return 1
  fi
}

main
