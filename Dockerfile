# One image for the sidecar, the gateway and the operator, chosen by command:
#   docker run IMAGE start                       # a sidecar (bmn start), the default
#   docker run IMAGE operator                    # the Kubernetes operator (bmn operator; the Helm chart runs this)
#   docker run IMAGE gateway                     # a cross-domain gateway (bmn gateway)
# It runs as the non-root `node` user (uid 1000) and writes nothing at run time, so it works with
# readOnlyRootFilesystem. It cannot be built on the development machines (no Docker engine there); see README.md.

# ---- build: compile TypeScript to dist/ -------------------------------------------------------------------
FROM node:26-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev

# ---- run: compiled code and production dependencies only, as a non-root user -------------------------------
FROM node:26-bookworm-slim
# The agent API stays on loopback (BMN_HOST defaults to 127.0.0.1): in a pod only the agent beside it may
# reach it; probes and /metrics have their own listener (BMN_PROBE_PORT), which the operator sets.
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Nothing is written to the image at run time, so it runs with a read-only root filesystem.
USER node
# 7420: the sidecar; 8080: the operator's /healthz, /readyz and /metrics.
EXPOSE 7420 8080
ENTRYPOINT ["node", "dist/cli/bmn.js"]
CMD ["start"]
