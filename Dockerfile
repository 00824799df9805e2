# shopflow's one image: the API (default), the worker and the migration job
# (docker-compose.yml picks the command). TypeScript runs through tsx: no build step.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    PRISMA_HIDE_UPDATE_MESSAGE=1

WORKDIR /app
RUN chown node:node /app
# Everything from here on (install included) runs as the unprivileged `node` user.
USER node

# Dependencies first, so a source change does not reinstall them. npm's postinstall runs
# scripts/prisma-generate.ts, which generates the Prisma client into generated/prisma from
# prisma/schema.prisma: it needs prisma/ and scripts/ now. It works offline: Prisma's native
# schema engine (a CDN download) is replaced by scripts/schema-engine-unavailable, since
# generation never runs it. Dev dependencies (tests, lint) are left out.
COPY --chown=node:node package.json package-lock.json prisma.config.ts tsconfig.json ./
COPY --chown=node:node prisma ./prisma
COPY --chown=node:node scripts ./scripts
RUN npm ci --omit=dev --no-audit \
    && npm cache clean --force

COPY --chown=node:node . .

EXPOSE 3000
# docker-compose.yml overrides this for the worker (`npm run worker`) and migrate (`npm run db:migrate`).
CMD ["npm", "run", "api"]
