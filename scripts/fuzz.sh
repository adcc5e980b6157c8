#!/usr/bin/env bash
# fuzz.sh runs every Fuzz target of every package for $FUZZTIME (default
# 10s) each. go test -fuzz takes one target of one package at a time, so
# the targets are listed first with go test -list.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}

n=0
for pkg in $("$GO" list ./...); do
	for target in $("$GO" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target for $FUZZTIME"
		"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
		n=$((n + 1))
	done
done
echo "fuzz: ran $n targets"
