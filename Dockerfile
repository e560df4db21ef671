# Tether's production image: `docker build -t tether .`, then (Redis with AOF and the
# auth variables are required in production: README.md, "Run in production")
#   docker run -p 8080:8080 -e REDIS_URL=redis://… -e AUTH_JWT_SECRET=… -e PUBLISH_API_KEYS=… tether
#   docker run --rm -e AUTH_JWT_SECRET=… tether token --sub alice --channels 'room:*'
# Node 24 on Debian 13 (trixie, glibc 2.41): the native uWS edge loads (docs/edge.md).
# .ci/prod-smoke.sh runs these same steps without a container runtime.

FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24-trixie-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No dependency needs an install script (package.json "allowScripts"). --omit=optional
# drops uWS 20.30 (Node 20 builds only); the native builds for other platforms and Node
# versions go too: only this one's can load.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
  && keep="uws_$(node -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node" \
  && find node_modules/@btc-vision/uwebsockets.js -name 'uws_*.node' ! -name "$keep" -delete \
  && npm cache clean --force
COPY --from=build /app/dist ./dist
# Read at run time: the pages' HTML and the docs served under /docs/.
COPY src/pages/landing/index.html src/pages/landing/
COPY src/pages/demo/index.html src/pages/demo/
COPY src/pages/dashboard/index.html src/pages/dashboard/
COPY docs ./docs
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 8080}/livez`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and takes SIGTERM itself: it drains, closes clients with 1012, exits 0.
ENTRYPOINT ["node", "--enable-source-maps", "dist/src/cli/tether.js"]
CMD ["start"]
