# syntax=docker/dockerfile:1
# The Next.js web client (apps/web), built with `output: 'standalone'` (apps/web/next.config.ts):
# the runtime image holds only the traced server, its static assets and `public/`, no node_modules
# install. Build context: the repository root (see .dockerignore), e.g.
#   docker build -f infra/docker/web.Dockerfile -t chat-scale-out/web .
# Every RUN below is also run, outside Docker, by e2e/test/docker.test.ts: keep paths relative to WORKDIR.

FROM node:20-bookworm-slim AS base
ENV TURBO_TELEMETRY_DISABLED=1 \
    NEXT_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app

# 1. Cut the monorepo down to @chat/web and the workspaces it depends on.
FROM base AS pruner
# The repo's turbo (root package.json devDependencies); the test checks they agree.
ARG TURBO_VERSION=2.11.11
COPY . .
RUN npx --yes "turbo@${TURBO_VERSION}" prune @chat/web --docker

# 2. Dependencies first (cached until a manifest or the lockfile changes), then sources and build.
#    NEXT_PUBLIC_* variables are read at build time; pass them as build args if you add any.
FROM base AS builder
COPY --from=pruner /app/out/json/ ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci
COPY --from=pruner /app/out/full/ ./
RUN npx turbo run build --filter=@chat/web && mkdir -p apps/web/public

# 3. The runtime: the standalone server (with its traced node_modules), static assets, public/.
FROM base AS runner
ENV NODE_ENV=production \
    HOSTNAME=0.0.0.0 \
    PORT=3000
COPY --from=builder --chown=node:node /app/apps/web/.next/standalone ./
COPY --from=builder --chown=node:node /app/apps/web/.next/static ./apps/web/.next/static
COPY --from=builder --chown=node:node /app/apps/web/public ./apps/web/public
USER node
EXPOSE 3000
CMD ["node", "apps/web/server.js"]
