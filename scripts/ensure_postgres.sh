#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, on a loopback port, in a directory you choose.
#
#   scripts/ensure_postgres.sh start <dir> [port]   -> prints the SQLAlchemy URL on stdout
#   scripts/ensure_postgres.sh stop <dir>
#
# Installs Debian's `postgresql` with apt-get when no server binaries are present. initdb/pg_ctl come
# from the newest /usr/lib/postgresql/*/bin. PostgreSQL refuses to run as root, so when this runs as
# root the cluster belongs to (and runs as) the `postgres` user, via runuser. Durability is switched
# off (fsync, synchronous_commit): the cluster is for tests and is deleted with its directory.
set -euo pipefail

usage() { echo "usage: $0 start <dir> [port] | stop <dir>" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd="$1"; dir="$(mkdir -p "$2" && cd "$2" && pwd)"; port="${3:-}"

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

bin="$(find_bin)"
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    if [[ "$cmd" == "stop" ]]; then exit 0; fi
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "ensure_postgres: PostgreSQL is not installed and installing it needs root:" \
             "run 'apt-get install -y postgresql' as root" >&2
        exit 1
    fi
    echo "ensure_postgres: installing postgresql from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    bin="$(find_bin)"
fi

as_owner() {
    if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

data="$dir/data"
case "$cmd" in
start)
    if [[ "$(id -u)" -eq 0 ]]; then chown -R postgres: "$dir"; fi
    if [[ -z "$port" ]]; then
        port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
        as_owner "$bin/initdb" -D "$data" -U revloop --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >&2 || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U revloop revloop 2>/dev/null || true
    echo "$port" > "$dir/port"
    echo "postgresql+psycopg://revloop@127.0.0.1:$port/revloop"
    ;;
stop)
    if [[ -f "$data/postmaster.pid" ]]; then
        as_owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >&2
    fi
    ;;
*) usage ;;
esac
