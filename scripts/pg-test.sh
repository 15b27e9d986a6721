#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL for tests (see shared/TOOLCHAIN.md §6).
#   scripts/pg-test.sh start   -> prints the DATABASE_URL on stdout
#   scripts/pg-test.sh stop
# PGPORT (default 55432) and PGROOT (default $TMPDIR/pg-test-$PGPORT) choose where it runs.
set -euo pipefail
PGBIN=${PGBIN:-$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)}
if [ -z "${PGBIN}" ] || [ ! -x "${PGBIN}/initdb" ]; then
  echo "PostgreSQL server binaries not found (initdb). Install them: apt-get install -y postgresql" >&2
  exit 2
fi
PGPORT=${PGPORT:-55432}
PGROOT=${PGROOT:-${TMPDIR:-/tmp}/pg-test-$PGPORT}
AS_PG=()
[ "$(id -u)" = 0 ] && AS_PG=(runuser -u postgres --)
case "${1:-start}" in
start)
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT"
  mkdir -p "$PGROOT"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGROOT"
  "${AS_PG[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$PGROOT/initdb.log" 2>&1 \
    || { cat "$PGROOT/initdb.log" >&2; exit 1; }
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGROOT -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null \
    || { cat "$PGROOT/server.log" >&2; exit 1; }
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres grid
  echo "postgres://postgres@127.0.0.1:$PGPORT/grid"
  ;;
stop)
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT"
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
