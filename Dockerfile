# syntax=docker/dockerfile:1
# One image for the reconciliation, clearing, settlement and payout-gateway services (and the cli);
# docker-compose.yml picks the entry point per service. Two stages: `build` installs every dependency
# and compiles apps/ and libs/ to dist/ (npm run build); the runtime stage holds production
# dependencies and dist/ only, and runs compiled JavaScript as the non-root `node` user.
FROM node:20-bookworm-slim AS build

ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
RUN chown node:node /app
USER node

COPY --chown=node:node package.json package-lock.json ./
RUN --mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000 npm ci

COPY --chown=node:node tsconfig.json .swcrc ./
COPY --chown=node:node scripts/build.mjs ./scripts/build.mjs
COPY --chown=node:node libs ./libs
COPY --chown=node:node apps ./apps
RUN npm run build

FROM node:20-bookworm-slim AS runtime

ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
RUN chown node:node /app
USER node

# package.json also says "type": "module", which dist/'s ES modules need.
COPY --chown=node:node package.json package-lock.json ./
RUN --mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000 npm ci --omit=dev
COPY --from=build --chown=node:node /app/dist ./dist

ENV NODE_ENV=production HTTP_HOST=0.0.0.0
EXPOSE 3001 3002 3003 3004
# docker-compose.yml gives each service its own command; this default is reconciliation's, with the
# V8 flags of `npm run start:reconciliation` (docs/adr/013-match-on-import.md).
CMD ["node", "--max-semi-space-size=32", "--no-allocation-site-pretenuring", "dist/apps/reconciliation/src/main.js"]
