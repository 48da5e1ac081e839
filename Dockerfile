# syntax=docker/dockerfile:1
# One image for the reconciliation, clearing and settlement services (and the cli); docker-compose.yml
# picks the entry point per service. The services run TypeScript directly through @swc-node/register,
# which is still a devDependency, so this installs dev dependencies too (npm ci, not --omit=dev).
FROM node:20-bookworm-slim

ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
RUN chown node:node /app
USER node

COPY --chown=node:node package.json package-lock.json ./
RUN --mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000 npm ci

COPY --chown=node:node tsconfig.json .swcrc ./
COPY --chown=node:node libs ./libs
COPY --chown=node:node apps ./apps

# NODE_ENV only after npm ci: with NODE_ENV=production npm ci would leave the dev dependencies out.
ENV NODE_ENV=production HTTP_HOST=0.0.0.0
EXPOSE 3001 3002 3003
CMD ["node", "--max-semi-space-size=32", "--no-allocation-site-pretenuring", "--import", "@swc-node/register/esm-register", "apps/reconciliation/src/main.ts"]
