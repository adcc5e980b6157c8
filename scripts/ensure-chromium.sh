#!/usr/bin/env bash
# ensure-chromium.sh makes sure Debian's headless Chromium is at
# /usr/bin/chromium for the browser tests of serve/web. When it is
# missing and this is a Debian machine where we are root, it installs the
# package chromium with apt-get, quietly; otherwise it says how to. It
# does nothing when Chromium is there, so it runs before every make test.
#
# Without Chromium the browser tests skip, except under CI=true, where
# they fail: so under CI=true a failed install fails here already.
#
# It never reads standard input, so it runs the same in CI.
set -euo pipefail

chromium=/usr/bin/chromium

log() { printf 'ensure-chromium: %s\n' "$*" >&2; }

[ -x "$chromium" ] && exit 0

missing() {
	log "$*"
	log "the browser tests need Chromium at $chromium: apt-get install -y chromium (as root, on Debian)"
	if [ "${CI:-}" = true ]; then
		exit 1
	fi
	log "they will skip"
	exit 0
}

command -v apt-get >/dev/null 2>&1 || missing "no Chromium at $chromium, and no apt-get to install it with"
[ "$(id -u)" = 0 ] || missing "no Chromium at $chromium, and not root to install it"

log "installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or old.
apt-get update -qq </dev/null >/dev/null || missing "apt-get update failed"
apt-get install -y -qq chromium </dev/null >/dev/null || missing "apt-get install chromium failed"
[ -x "$chromium" ] || missing "apt-get installed chromium, but there is no $chromium"
log "Chromium is at $chromium"
