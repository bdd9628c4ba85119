#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (`make test`): Debian's server binaries, a data
# folder and a Unix socket in DIR, trust authentication, no TCP listener, fsync off.
#   tools/postgres_cluster.sh start DIR   initdb + pg_ctl start; prints the AMALGAM_TEST_POSTGRES URL
#   tools/postgres_cluster.sh stop DIR    pg_ctl stop (immediate) and removes DIR
# As root the server runs as the `postgres` user (initdb refuses root), which owns DIR.
set -euo pipefail
command=${1:?start or stop} dir=${2:?a folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $command in
  start)
    mkdir -p "$dir"
    chmod 700 "$dir"
    [ "$(id -u)" != 0 ] || chown postgres: "$dir"
    as_server "$bin/initdb" -D "$dir/data" --auth=trust --username=postgres --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    as_server "$bin/createdb" -h "$dir" -U postgres amalgam
    echo "postgresql://postgres@/amalgam?host=$dir"
    ;;
  stop)
    # A server pg_ctl could not stop is killed (by the pid in its data folder) before the folder
    # goes, so no postmaster is left running on a deleted cluster.
    if [ -d "$dir/data" ] && ! as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1; then
      pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        echo "warning: pg_ctl could not stop the cluster in $dir; killed its server (pid $pid)" >&2
      fi
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
