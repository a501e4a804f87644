# One image for every smsq process; docker-compose.yml picks the command per service.
FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# openssl: Prisma's schema engine (migrations) links against it.
RUN apt-get update && apt-get install -y --no-install-recommends openssl ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/twilio-sim/package.json packages/twilio-sim/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/cli/package.json apps/cli/
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY scripts ./scripts
# Full install: the build (esbuild) and the migrations (run through tsx) need dev dependencies.
RUN npm ci --include=dev --no-audit --no-fund && npx prisma version >/dev/null
COPY . .
# The processes run these bundles (npm run start:*:dist, with their node flags), not the TypeScript.
RUN npm run build
USER node
EXPOSE 3000 4010 9100
CMD ["npm", "run", "start:api:dist"]
