# shopflow's one image: the API (default), the worker, the relay, the projector and the migration
# job (docker-compose.yml picks the command). Production runs the compiled JavaScript of
# `npm run build`: no TypeScript loader at run time, modules loaded once from dist/.

# --- build: all dependencies, then tsc into dist/ ---
FROM node:24-bookworm-slim AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /app
RUN chown node:node /app
USER node
# npm's postinstall applies patches/ to the dependencies they name (patch-package), then runs
# scripts/prisma-generate.ts, which generates the Prisma client into generated/prisma from
# prisma/schema.prisma: it needs patches/, prisma/ and scripts/ now. It works offline: Prisma's
# native schema engine is replaced by scripts/schema-engine-unavailable, since generation never
# runs it.
COPY --chown=node:node package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY --chown=node:node prisma ./prisma
COPY --chown=node:node scripts ./scripts
COPY --chown=node:node patches ./patches
COPY --chown=node:node cli/package.json ./cli/
RUN npm ci --no-audit
COPY --chown=node:node . .
RUN npm run build

# --- runtime: production dependencies and the build ---
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /app
RUN chown node:node /app
USER node
COPY --chown=node:node package.json package-lock.json prisma.config.ts tsconfig.json ./
COPY --chown=node:node prisma ./prisma
COPY --chown=node:node scripts ./scripts
COPY --chown=node:node patches ./patches
COPY --chown=node:node cli/package.json ./cli/
RUN npm ci --omit=dev --no-audit && npm cache clean --force
# The compiled code, with the workflows already bundled (dist/workflow-bundle.js): the worker
# loads that bundle and runs no webpack at start.
COPY --from=build --chown=node:node /app/dist ./dist

EXPOSE 3000
# docker-compose.yml overrides this for the worker, relay, projector and migrate.
CMD ["node", "dist/api/server.js"]
