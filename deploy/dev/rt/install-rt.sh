#!/usr/bin/env bash
# install-rt.sh: install Debian's Request Tracker 5 packages for procbot's
# throw-away test RT (see README.md). Idempotent and non-interactive.
#
# Returns in milliseconds when everything is already installed (dpkg-query only;
# this check needs no root). Otherwise it needs root: it re-runs itself through
# sudo when it is not root, or fails with a clear message.
# All output goes to stderr.
#
# Environment:
#   RT_SKIP_INSTALL=1      never call apt-get; fail if RT is not installed
#   RT_APT_LOCK_TIMEOUT    seconds apt/dpkg waits for a lock held by another apt (default 300)
set -euo pipefail

log() { printf '[install-rt %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PACKAGES=(request-tracker5 rt5-db-sqlite rt5-standalone rt5-clients dbconfig-no-thanks dma)
RT_SERVER=/usr/share/request-tracker5/libexec/rt-server
RT_SETUP_DB=/usr/sbin/rt-setup-database-5

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx 'install ok installed' || echo "$p"
    done
    # curl is needed by start-rt.sh and smoke.sh. Only name it when it is missing:
    # naming an installed package in `apt-get install` may upgrade it.
    command -v curl > /dev/null || echo curl
}

missing_list() { missing_packages | paste -sd' ' -; }

is_complete() {
    [ -z "$(missing_packages)" ] && [ -x "$RT_SERVER" ] && [ -x "$RT_SETUP_DB" ]
}

if is_complete; then
    exit 0
fi

[ "${RT_SKIP_INSTALL:-0}" = 1 ] && die "RT 5 is not (fully) installed and RT_SKIP_INSTALL=1; missing: $(missing_list)"
command -v apt-get > /dev/null || die "apt-get not found: this installer needs Debian 12 (bookworm) or a derivative"

if [ "$(id -u)" != 0 ]; then
    command -v sudo > /dev/null \
        || die "must run as root to install packages (missing: $(missing_list)), and sudo is not available"
    log "not root: re-running through sudo"
    sudo_opts=()
    [ -t 0 ] || sudo_opts=(-n)   # no terminal (CI): fail instead of waiting for a password
    exec sudo "${sudo_opts[@]}" -- "$BASH" "${BASH_SOURCE[0]}" "$@"
fi

# Serialise concurrent runs (two start-rt.sh at once on a fresh machine) by locking
# this script file itself: nothing is written. After the lock, check again.
exec 9< "${BASH_SOURCE[0]}"
if ! flock -n 9; then
    log "another install-rt.sh is running; waiting for it"
    flock 9
fi
if is_complete; then
    log "already installed by a concurrent run"
    exit 0
fi

mapfile -t missing < <(missing_packages)
log "installing: ${missing[*]}"
t0=$SECONDS

export DEBIAN_FRONTEND=noninteractive
# Preseed: no dbconfig-common database (start-rt.sh makes its own SQLite DB), no
# cron jobs, deterministic values, no prompts. dma satisfies
# 'default-mta | mail-transport-agent' with no daemon; otherwise apt picks exim4,
# which asks more questions and tries to start a daemon on port 25.
debconf-set-selections <<'PRESEED'
request-tracker5 request-tracker5/dbconfig-install boolean false
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean false
request-tracker5 request-tracker5/rtname string rt.test
request-tracker5 request-tracker5/organization string rt.test
request-tracker5 request-tracker5/correspondaddress string rt@rt.test
request-tracker5 request-tracker5/commentaddress string rt-comment@rt.test
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1
request-tracker5 request-tracker5/webpath string /
dma dma/mailname string localhost
dma dma/relayhost string
PRESEED

lock_timeout=${RT_APT_LOCK_TIMEOUT:-300}
apt_opts=(-q -o "DPkg::Lock::Timeout=$lock_timeout")

# The package lists may be missing (fresh container) or stale (old security
# versions give 404 on download), so refresh them once before installing.
log "apt-get update"
apt-get "${apt_opts[@]}" update >&2 || die "apt-get update failed"

# We always name the whole set (already-installed ones are left as they are).
# Note: RT pins exact versions, so this may also upgrade perl from bookworm-security.
install_list=("${PACKAGES[@]}")
command -v curl > /dev/null || install_list+=(curl)
log "apt-get install --no-install-recommends ${install_list[*]}"
apt-get "${apt_opts[@]}" install -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${install_list[@]}" >&2 || die "apt-get install failed"

is_complete || die "packages installed but still incomplete; missing: $(missing_list)"
log "RT 5 installed in $((SECONDS - t0))s ($(dpkg-query -W -f='${Version}' request-tracker5))"
