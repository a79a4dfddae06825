#!/usr/bin/env bash
# Runs the mocha test suite against throw-away MariaDB and Redis servers
# (or the ones named by MYSQL_URL / REDIS_URL). Arguments go to mocha.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh
trap huodong_services_down EXIT
huodong_services_up

npm run generate --silent
rc=0
if (($# == 0)); then
  set -- 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts'
fi
npx mocha "$@" || rc=$?
exit "$rc"
