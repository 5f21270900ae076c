# tidemark worker image: compiled JavaScript only, production dependencies only. `npm run build` compiles and
# writes the prebuilt workflow bundle (dist/workflow-bundle.js), so the worker never runs webpack at start.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
# `tidemark worker` runs as bin/tidemark.js's child with the memory settings (--max-semi-space-size=2,
# --max-old-space-size=$TIDEMARK_WORKER_HEAP_MB (default 1024 or node's own lower limit), --heap-growing-percent=100,
# MALLOC_ARENA_MAX=2); PID 1 passes SIGTERM on,
# so `docker stop` lets the page in flight commit. With a container memory limit, keep TIDEMARK_WORKER_HEAP_MB
# well under it (e.g. -e TIDEMARK_WORKER_HEAP_MB=384 with --memory=512m).
ENTRYPOINT ["node", "bin/tidemark.js"]
CMD ["worker", "--config", "/config/tidemark.yaml"]
