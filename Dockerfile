# syntax=docker/dockerfile:1
#
# The hookchain relay. Build: docker build -t hookchain-relay .
# Run:   docker run -d -p 8080:8080 -v hookchain-data:/data \
#          -v "$PWD/hookchain.yml:/config/hookchain.yml:ro" --env-file .env hookchain-relay
# docs/deploy.md has the rest; test/deploy/container.test.ts checks what can drift from the code.

# Every FROM names the same Node image (Dependabot bumps them together; a test checks they agree).

# lib/ is plain JavaScript, the same for every platform: compiled once, on the machine that builds,
# with no install scripts (tsc needs no native addon), so that no emulator runs it.
FROM --platform=$BUILDPLATFORM node:24.20.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The production dependencies, for the target platform. better-sqlite3 is a native addon: node-gyp
# needs python3, make and g++ when no prebuilt binary fits. tini is taken from here as well, so
# that the runtime stage runs no apt at all.
FROM node:24.20.0-bookworm-slim AS production-dependencies
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

FROM node:24.20.0-bookworm-slim AS runtime
# .github/workflows/container.yml sets these three; a local build says what it can.
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="hookchain-relay" \
      org.opencontainers.image.description="Webhook chains for container registries, on GitHub: the relay that takes registry push events and runs their chains." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"

# A user of its own with fixed numeric ids, so that Kubernetes' runAsNonRoot can check it and a
# bind-mounted data folder can be given to it (chown 10001:10001).
RUN groupadd --system --gid 10001 hookchain \
 && useradd --system --uid 10001 --gid hookchain --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin hookchain \
 && mkdir -p /data /config \
 && chown hookchain:hookchain /data

COPY --from=production-dependencies /usr/bin/tini /usr/bin/tini
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib
COPY package.json LICENSE ./

ENV NODE_ENV=production \
    HOOKCHAIN_CONFIG=/config/hookchain.yml \
    DATABASE_URL=sqlite:/data/hookchain.db \
    PORT=8080

# A named volume starts as a copy of this folder, owned by hookchain.
VOLUME ["/data"]
EXPOSE 8080
USER 10001:10001

# Liveness only (the process answers); /readyz also asks the database. No curl in a slim image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# tini is PID 1: it passes SIGTERM on to node, which finishes its work in flight and exits 0, and
# it reaps any zombie. The Node options are the `start` script's (the tests compare them).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=32", "lib/relay/cli.js"]
CMD ["serve"]
