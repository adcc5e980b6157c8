#!/usr/bin/env bash
# fuzz.sh runs every Fuzz target of every package for $FUZZTIME (default
# 10s) each. go test -fuzz takes one target of one package at a time, so
# the targets are listed first with go test -list. A failing target does
# not stop the others: each one's result is reported, and the script
# exits non-zero at the end if any failed. A failure leaves its input
# under the package's testdata/fuzz/TARGET/ for go test to replay.
#
# FUZZMINIMIZETIME (default 10s) bounds how long a failing input is
# minimized, so one failure can't take a minute of a fixed-time run.
set -uo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-10s}

pkgs=$("$GO" list ./...) || exit 1
n=0
failed=()
results=()
for pkg in $pkgs; do
	if ! list=$("$GO" test -list '^Fuzz' "$pkg"); then
		results+=("FAIL $pkg (its tests do not build)")
		failed+=("$pkg")
		continue
	fi
	targets=$(grep '^Fuzz' <<<"$list")
	for target in $targets; do
		echo "fuzz: $pkg $target for $FUZZTIME"
		if "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" \
			-fuzzminimizetime "$FUZZMINIMIZETIME" "$pkg"; then
			results+=("ok   $pkg $target")
		else
			results+=("FAIL $pkg $target")
			failed+=("$pkg $target")
		fi
		n=$((n + 1))
	done
done
echo
echo "fuzz: ran $n targets for $FUZZTIME each:"
printf '  %s\n' "${results[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $n targets failed"
	exit 1
fi
