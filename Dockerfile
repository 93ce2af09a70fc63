# syntax=docker/dockerfile:1
# wolkvox-exporter image: compile with dev dependencies, then run on a slim image with production dependencies only.
# Build: docker build --build-arg REVISION="$(git rev-parse --short=12 HEAD)" -t wolkvox-exporter .
# The token never enters the image: pass it at run time with --wolkvox.token-file (a mounted secret) or WOLKVOX_TOKEN.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts ./scripts
COPY src ./src
# The context has no .git, so the revision for wolkvox_exporter_build_info and --version must come in as an argument.
# Declared after `npm ci` so a new revision does not invalidate the dependency layer; a build-stage ARG never
# reaches the runtime image.
ARG REVISION=unknown
# The build also runs the exporter once, to write the V8 code cache it starts from (dist/exporter.cjs.cache). V8
# accepts that cache only from the same Node.js, hence one NODE_IMAGE for both stages.
RUN WOLKVOX_EXPORTER_REVISION="$REVISION" npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Last, so a new version or revision reuses the dependency layer above.
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="wolkvox-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Wolkvox chat_15 (WhatsApp Click Summary) report" \
      org.opencontainers.image.source="https://github.com/wolkvox-exporter/wolkvox-exporter" \
      org.opencontainers.image.url="https://github.com/wolkvox-exporter/wolkvox-exporter" \
      org.opencontainers.image.documentation="https://github.com/wolkvox-exporter/wolkvox-exporter#docker" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# The official image's unprivileged user (uid 1000); nothing in /app is writable by it.
USER node
EXPOSE 9867
# The binary checks itself: `healthcheck` adopts the flags of PID 1 (listen address, --web.config.file), so TLS and
# basic auth work too; credentials come from WOLKVOX_HEALTHCHECK_USERNAME and WOLKVOX_HEALTHCHECK_PASSWORD_FILE.
# It gives up after 4 s of its own (--healthcheck.timeout); the 10 s here leave room for Node to start on a busy host,
# so a hung exporter is reported by the check itself ("no answer within 4s") rather than cut off.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 \
  CMD ["node", "--max-semi-space-size=1", "--optimize-for-size", "--no-memory-reducer", "--v8-pool-size=1", "dist/main.js", "healthcheck"]
# The flags of the binary's own #! line (src/bin.ts): a 1 MB young generation, code that favours memory, no memory
# reducer and one V8 helper thread (for the event loop while the first polls run); the code cache was written under
# them.
# Memory measured by `npm run bench` on Node 20 (README: Performance), 2026-11-30 with these flags: with 20 accounts x
# 3 windows, RSS 66-67 MB at rest, 74-75 MB after a load of ~24,000 scrapes a second, peak 76 MB; with 1,000 accounts
# x 3 windows, 88 MB at rest, 93-96 MB after load, peak 103 MB (up to 104 and 110 MB in earlier runs). With 200
# accounts (2026-11-29): 79 MB at rest, 86 MB after load, peak 87 MB. So a 128 MiB limit (134 MB) fits 1,000
# accounts with 20% to spare.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--optimize-for-size", "--no-memory-reducer", "--v8-pool-size=1", "dist/main.js"]
# No account by default: give flags (or WOLKVOX_* env vars), or --demo for the built-in simulator.
CMD ["--web.listen-address=:9867"]
