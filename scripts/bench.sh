#!/usr/bin/env bash
# Runs the benchmarks against throw-away MariaDB and Redis servers
# (or the ones named by MYSQL_URL / REDIS_URL). Arguments go to bench/run.ts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh
trap huodong_services_down EXIT
huodong_services_up

npm run generate --silent
rc=0
# `npm run bench -- flood`: the REST-bridge flood bench (bench/flood.ts) instead of the scenarios.
if [[ "${1:-}" == flood ]]; then
  shift
  npx tsx bench/flood.ts "$@" || rc=$?
  exit "$rc"
fi
npx tsx bench/run.ts "$@" || rc=$?
exit "$rc"
