# syntax=docker/dockerfile:1
# wolkvox-exporter image: compile with dev dependencies, then run on a slim image with production dependencies only.
# Build: docker build -t wolkvox-exporter .
# The token never enters the image: pass it at run time with --wolkvox.token-file (a mounted secret) or WOLKVOX_TOKEN.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
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
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The official image's unprivileged user (uid 1000); nothing in /app is writable by it.
USER node
EXPOSE 9867
# The slim image has no curl: ask Node. Set WOLKVOX_HEALTHCHECK_URL if the exporter listens elsewhere.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.WOLKVOX_HEALTHCHECK_URL || 'http://127.0.0.1:9867/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
# No account by default: give flags (or WOLKVOX_* env vars), or --demo for the built-in simulator.
CMD ["--web.listen-address=:9867"]
