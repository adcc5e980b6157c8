#!/usr/bin/env bash
# ensure-postgres.sh makes sure a PostgreSQL server accepts connections for
# the tests: user postgres, trust authentication, at $PGHOST:$PGPORT
# (default 127.0.0.1:5432). When none answers it starts a local cluster:
# on Debian with pg_ctlcluster (every installed version's "main" cluster),
# elsewhere with pg_ctl on $PGDATA. It then waits up to
# $STEPPING_PG_WAIT seconds (default 30) and fails with a message saying
# how to install or start one.
#
# It never reads standard input, so it runs the same in CI.
set -euo pipefail

host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}
user=postgres
wait_secs=${STEPPING_PG_WAIT:-30}

log() { printf 'ensure-postgres: %s\n' "$*" >&2; }

# ready succeeds when the server at host:port accepts connections.
ready() {
	if command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -h "$host" -p "$port" -U "$user" -t 2 </dev/null
	elif command -v psql >/dev/null 2>&1; then
		psql -w -h "$host" -p "$port" -U "$user" -d postgres -Atqc 'select 1' </dev/null >/dev/null 2>&1
	else
		# No client at all: a TCP connect is the best we can do.
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
	fi
}

# trusted succeeds when user postgres can log in without a password.
trusted() {
	command -v psql >/dev/null 2>&1 || return 0
	psql -w -h "$host" -p "$port" -U "$user" -d postgres -Atqc 'select 1' </dev/null >/dev/null
}

fail() {
	log "$*"
	cat >&2 <<MSG
ensure-postgres: the tests need a PostgreSQL server at $host:$port where user
$user logs in without a password (trust authentication). To get one:
  Debian/Ubuntu:  apt-get install -y postgresql
                  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start
                  (set "host all all 127.0.0.1/32 trust" in pg_hba.conf if login asks for a password)
  elsewhere:      initdb -D DIR -U postgres --auth=trust && pg_ctl -D DIR -l DIR/log start
or point PGHOST/PGPORT at a running server.
MSG
	exit 1
}

# start tries each way of starting a local server that this machine has.
start() {
	local started=no
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		local ver
		for ver in $(ls /etc/postgresql); do
			[ -d "/etc/postgresql/$ver/main" ] || continue
			log "starting cluster $ver/main with pg_ctlcluster"
			if pg_ctlcluster --skip-systemctl-redirect "$ver" main start </dev/null >&2; then
				started=yes
			fi
		done
	fi
	if [ "$started" = no ] && [ -n "${PGDATA:-}" ] && command -v pg_ctl >/dev/null 2>&1; then
		log "starting $PGDATA with pg_ctl"
		local cmd=(pg_ctl -D "$PGDATA" -l "$PGDATA/server.log" -o "-p $port" -w -t "$wait_secs" start)
		if [ "$(id -u)" = 0 ]; then
			# The server refuses to run as root: run it as the data directory's owner.
			local owner
			owner=$(stat -c %U "$PGDATA")
			if runuser -u "$owner" -- "${cmd[@]}" </dev/null >&2; then started=yes; fi
		elif "${cmd[@]}" </dev/null >&2; then
			started=yes
		fi
	fi
	[ "$started" = yes ]
}

if ready; then
	trusted || fail "a server answers at $host:$port but user $user can't log in without a password"
	exit 0
fi

log "no PostgreSQL server answers at $host:$port"
start || fail "could not start a local PostgreSQL cluster (none under /etc/postgresql for pg_ctlcluster, nor PGDATA for pg_ctl, or starting it failed as shown above)"

for ((i = 0; i < wait_secs; i++)); do
	if ready; then
		trusted || fail "the server at $host:$port is up but user $user can't log in without a password"
		log "PostgreSQL is up at $host:$port"
		exit 0
	fi
	sleep 1
done
fail "started a cluster, but nothing answers at $host:$port after ${wait_secs}s"
