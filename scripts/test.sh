#!/usr/bin/env bash
# Runs the mocha test suite against throw-away MariaDB and Redis servers
# (or the ones named by MYSQL_URL / REDIS_URL).
#
#   npm test                 every test but the stress tier (the tests titled "@stress")
#   npm run test:stress      the stress tier: the large races and memory measurements
#   npm run test:all         both, in one run
#
# Further arguments go to mocha (files, --grep, ...); with files named, the tier still applies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tier=fast
case "${1:-}" in
  --stress) tier=stress; shift ;;
  --all) tier=all; shift ;;
esac

# shellcheck source=scripts/services.sh
source scripts/services.sh
trap huodong_services_down EXIT
huodong_services_up

npm run generate --silent
has_files=0
for arg in "$@"; do
  [[ $arg != -* && ( $arg == *.ts || $arg == *'*'* ) ]] && has_files=1
done
if ((has_files == 0)); then
  set -- "$@" 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts'
fi
case $tier in
  fast) set -- --grep @stress --invert "$@" ;;
  stress) set -- --grep @stress "$@" ;;
esac
rc=0
npx mocha "$@" || rc=$?
exit "$rc"
