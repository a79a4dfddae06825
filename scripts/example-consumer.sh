#!/usr/bin/env bash
# Installs the packed @huodong/clients (npm pack -w clients) into examples/consumer, a project
# of its own in a temporary directory, compiles it under node16, CommonJS and bundler settings,
# and runs it against a throw-away huodong on the embedded store. Needs the npm registry (for
# grpc-js, typescript and @types/node) and nothing else from the network.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

work=$(mktemp -d "${TMPDIR:-/tmp}/huodong-consumer.XXXXXX")
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The tarball a registry would serve (prepack builds dist/ first).
tarball=$(npm pack -w clients --pack-destination "$work" --silent | tail -n 1)
echo "packed $tarball"

cp -R examples/consumer "$work/consumer"
rm -rf "$work/consumer/node_modules" "$work/consumer/dist" "$work/consumer/build"
cd "$work/consumer"
npm install --no-audit --no-fund --ignore-scripts --no-package-lock "$work/$tarball"
npx --no-install tsc -p tsconfig.json
npx --no-install tsc -p tsconfig.commonjs.json
npx --no-install tsc -p tsconfig.bundler.json

# A huodong on the embedded store (SQLite, in-process locks), gRPC on a free port.
token="example-$(node -e "process.stdout.write(require('node:crypto').randomBytes(16).toString('hex'))")"
log="$work/server.log"
(
  cd "$root"
  exec env HUODONG_DEV=1 HUODONG_DEV_TOKEN="$token" HUODONG_DATA_DIR="$work/data" \
    HUODONG_GRPC_HOST=127.0.0.1 HUODONG_GRPC_PORT=0 HUODONG_HTTP_PORT=-1 LOG_LEVEL=info \
    node --import tsx src/main.ts
) >"$log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*"grpcPort":\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
  [[ -n $port ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$log" >&2
    echo "example-consumer: the server did not start" >&2
    exit 1
  fi
  sleep 0.2
done
if [[ -z $port ]]; then
  cat "$log" >&2
  echo "example-consumer: the server did not report its port" >&2
  exit 1
fi

export HUODONG_ADDRESS="127.0.0.1:$port" HUODONG_TOKEN="$token"
if ! npm run --silent start; then
  echo "--- server log" >&2
  tail -n 50 "$log" >&2
  exit 1
fi
