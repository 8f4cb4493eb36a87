# One image for both services; the command picks gateway or worker.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.base.json tsconfig.json ./
COPY shared/package.json shared/
COPY services/gateway/package.json services/gateway/
COPY services/worker/package.json services/worker/
# No install scripts run (.npmrc, copied above, says why: onnxruntime-node would fetch CUDA from NuGet).
RUN npm ci
COPY shared shared
COPY services services
COPY scripts scripts
RUN npx tsc -b shared services/gateway services/worker && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production MODEL_DIR=/app/models/triage
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/shared/package.json shared/
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/services/gateway/package.json services/gateway/
COPY --from=build /app/services/gateway/dist services/gateway/dist
COPY --from=build /app/services/worker/package.json services/worker/
COPY --from=build /app/services/worker/dist services/worker/dist
COPY models/triage models/triage
# Numeric (the node image's "node" user): the kubelet verifies runAsNonRoot only for a numeric USER.
USER 1000:1000
EXPOSE 8000
# Node arguments as in SERVICE_NODE_ARGS (scripts/src/stack.ts): V8 flags sized by npm run bench.
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=256", "services/gateway/dist/main.js"]
