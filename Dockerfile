# syntax=docker/dockerfile:1

# ---- build: install, generate code from proto/, compile TypeScript ----
FROM node:20-bookworm-slim AS builder
# Toolchain for better-sqlite3 when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY clients/package.json clients/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run generate \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HUODONG_DATA_DIR=/data \
    HUODONG_GRPC_PORT=50051 \
    HUODONG_HTTP_PORT=8080
WORKDIR /app
COPY --from=builder /app/package.json ./
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
COPY --from=builder /app/clients/package.json ./clients/package.json
COPY --from=builder /app/clients/dist ./clients/dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 50051 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HUODONG_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
