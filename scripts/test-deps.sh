#!/usr/bin/env bash
# scripts/test-deps.sh — makes sure what `make test` needs is on this machine:
# the PostgreSQL server binaries (every test package starts its own cluster),
# pgbench (bench/pgbench), nginx (the e2e tests run it in front of three
# instances) and node (syntax checks of the k6 scripts). Missing packages are
# installed with apt-get when we are root on Debian; otherwise it says what
# to install and fails, since the tests fail (never skip) without them.
set -euo pipefail

missing=()
if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v pgbench >/dev/null || ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || missing+=(postgresql-client)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v node >/dev/null || missing+=(nodejs)
command -v curl >/dev/null || missing+=(curl)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test-deps: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "test-deps: the tests need these packages, please install them: ${missing[*]}" >&2
exit 1
