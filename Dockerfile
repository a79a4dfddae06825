# syntax=docker/dockerfile:1
# Node 24 is an LTS line (maintained until April 2028); node:22-bookworm-slim works as well
# (until April 2027). Node 20 is past its end of life.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: every dependency, code generated from proto/, TypeScript compiled to dist/ ----
FROM ${NODE_IMAGE} AS builder
# Toolchain for better-sqlite3 when no prebuilt binary fits; it stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY clients/package.json clients/
RUN npm ci --no-audit --no-fund
COPY . .
# build = generate + tsc + the .sql files next to the compiled stores; then drop the build
# tools (buf, ts-proto, tsx, typescript, esbuild: devDependencies) from node_modules.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: plain node on dist/, no build tools, no dev token, not root ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HUODONG_DATA_DIR=/data \
    HUODONG_GRPC_PORT=50051 \
    HUODONG_HTTP_PORT=8080 \
    HUODONG_METRICS_PORT=9464
WORKDIR /app
# Owned by root and read-only to the server's user: the server cannot rewrite its own code.
COPY --from=builder /app/package.json /app/package-lock.json ./
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
COPY --from=builder /app/scripts/launch.mjs ./scripts/launch.mjs
COPY --from=builder /app/clients/package.json ./clients/package.json
COPY --from=builder /app/clients/dist ./clients/dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 50051 8080 9464
# /readyz on the metrics port, which listens whether or not the bridge is on.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "dist/cli/healthcheck.js"]
# What `npm run serve` runs, without npm in between: node is the process that gets SIGTERM
# (use `docker run --init` or compose's `init: true` so PID 1 reaps and forwards).
# The CLIs: docker compose exec huodong npm run app -- list   (and npm run migrate)
CMD ["node", "dist/main.js"]
