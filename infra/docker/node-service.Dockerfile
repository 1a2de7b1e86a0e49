# syntax=docker/dockerfile:1
# A Node service of this monorepo, chosen by build args. docker-compose.yml builds two images from it:
#   the chat server  PACKAGE=@chat/server   APP_MAIN=apps/chat-server/dist/index.js
#   the gateway      PACKAGE=@chat/gateway  APP_MAIN=packages/gateway/dist/cli.js
# Build context: the repository root (see .dockerignore), e.g.
#   docker build -f infra/docker/node-service.Dockerfile --build-arg PACKAGE=@chat/server \
#     --build-arg APP_MAIN=apps/chat-server/dist/index.js -t chat-scale-out/chat-server .
# Every RUN below is also run, outside Docker, by e2e/test/docker.test.ts: keep paths relative to WORKDIR.

FROM node:20-bookworm-slim AS base
ENV TURBO_TELEMETRY_DISABLED=1 \
    NEXT_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app

# 1. Cut the monorepo down to PACKAGE and the workspaces it depends on: out/json holds their
#    package.json files and the pruned lockfile, out/full their sources.
FROM base AS pruner
ARG PACKAGE
# The repo's turbo (root package.json devDependencies); the test checks they agree.
ARG TURBO_VERSION=2.11.11
COPY . .
RUN npx --yes "turbo@${TURBO_VERSION}" prune "${PACKAGE}" --docker

# 2. Install from manifests and lockfile only, so this layer is cached until dependencies change;
#    then add the sources, build PACKAGE and its workspace dependencies, and drop dev dependencies.
FROM base AS builder
ARG PACKAGE
COPY --from=pruner /app/out/json/ ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci
COPY --from=pruner /app/out/full/ ./
RUN npx turbo run build --filter="${PACKAGE}"
RUN npm prune --omit=dev && rm -rf .turbo

# 3. The runtime: production dependencies and built output only, as the unprivileged `node` user.
FROM base AS runner
ARG APP_MAIN
ENV NODE_ENV=production \
    APP_MAIN=${APP_MAIN}
COPY --from=builder /app ./
USER node
# `docker run IMAGE -c /etc/nginx/nginx.conf` passes its arguments on to the program.
ENTRYPOINT ["/bin/sh", "-c", "exec node \"$APP_MAIN\" \"$@\"", "--"]
CMD []
