# syntax=docker/dockerfile:1
# The service image: Node 24 LTS runs the TypeScript sources directly (it strips types natively;
# the code uses erasable syntax only), so there is no build step, only production dependencies.
#   docker build -t kyc-case-service .
#   docker run -p 8080:8080 -e API_KEYS=name:admin:<secret> kyc-case-service
ARG NODE_IMAGE=node:24-slim

# Production dependencies only. Install scripts are skipped: no dependency needs a native build,
# and none of them runs code at install time in the image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# Code and dependencies stay owned by root, so the service cannot change them; only the embedded
# event store's directory (DATA_DIR, ./data by default) is writable.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY projections ./projections
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT ?? 8080}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "src/app/main.ts"]
