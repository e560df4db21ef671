#!/usr/bin/env bash
# The Dockerfile's steps without a container runtime (none runs on the CI machine):
# build stage (npm ci, npm run build), runtime stage (npm ci --omit=dev --omit=optional
# --ignore-scripts, other platforms' native builds pruned, dist/ + pages + docs copied),
# then the image's command and environment, in production mode on a Redis with AOF: the
# HEALTHCHECK command answers, the pages and docs are served, a full session passes
# (scripts/session-smoke.ts: hello, subscribe, publish, drop, resume with nothing lost),
# SIGTERM exits 0. Runs on Node 24 (the image's) unless TETHER_SMOKE_NODE says otherwise.
# What it does not check: the base image itself, Debian 13's glibc (so here the ws edge
# runs, in the image uWS), USER and HEALTHCHECK as Docker applies them. README.md says so.
#   bash .ci/prod-smoke.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
node_major=${TETHER_SMOKE_NODE:-24}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
on_node() { bash "$repo/scripts/with-node.sh" "$node_major" "$@"; }

echo "prod-smoke: build stage"
mkdir "$work/build" "$work/app"
(cd "$repo" && git ls-files -z | xargs -0 cp --parents -t "$work/build")
(cd "$work/build" && on_node npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && on_node npm run build >/dev/null)

echo "prod-smoke: runtime stage"
cp "$repo"/{package.json,package-lock.json,.npmrc} "$work/app/"
cd "$work/app"
on_node npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error
node_bin=$(on_node node -p process.execPath)
keep="uws_$("$node_bin" -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node"
find node_modules/@btc-vision/uwebsockets.js -name 'uws_*.node' ! -name "$keep" -delete
cp -r "$work/build/dist" dist
for page in landing demo dashboard; do mkdir -p "src/pages/$page" && cp "$repo/src/pages/$page/index.html" "src/pages/$page/"; done
cp -r "$repo/docs" docs
echo "prod-smoke: node_modules $(du -sh node_modules | cut -f1), $(ls node_modules | wc -l) top-level entries"

free_port() { node -e "require('net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port); this.close(); })"; }
redis_port=$(free_port)
port=$(free_port)
secret=prod-smoke-secret-at-least-32-characters
key=prod-smoke-publish-key
mkdir "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save '' --appendonly yes >/dev/null &
pids+=($!)

# The image's ENTRYPOINT and CMD, its environment, nothing inherited.
env -i PATH="$PATH" HOME="$work" NODE_ENV=production HOST=127.0.0.1 PORT="$port" \
  REDIS_URL="redis://127.0.0.1:$redis_port" AUTH_JWT_SECRET="$secret" PUBLISH_API_KEYS="$key" \
  "$node_bin" --enable-source-maps dist/src/cli/tether.js start >"$work/gateway.log" 2>&1 &
gateway=$!
pids+=("$gateway")

healthcheck() {
  PORT=$port "$node_bin" -e "fetch(\`http://127.0.0.1:\${process.env.PORT || 8080}/livez\`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
}
for _ in $(seq 1 120); do
  healthcheck && break
  kill -0 "$gateway" 2>/dev/null || { echo "prod-smoke: the gateway exited:" >&2; cat "$work/gateway.log" >&2; exit 1; }
  sleep 0.5
done
healthcheck || { echo "prod-smoke: /livez never answered" >&2; cat "$work/gateway.log" >&2; exit 1; }
echo "prod-smoke: HEALTHCHECK passes; $(grep -o '"msg":"edge: [^"]*"' "$work/gateway.log")"
# The pages, their bundles and the docs come from files beside dist/ (no esbuild in production).
"$node_bin" -e '
  const paths = ["/", "/demo", "/dashboard", "/assets/demo.js", "/assets/tether-client.js", "/docs/protocol.md"];
  Promise.all(paths.map((p) => fetch(`http://127.0.0.1:'"$port"'${p}`).then((r) => [p, r.status]))).then((got) => {
    const bad = got.filter(([, status]) => status !== 200);
    if (bad.length) { console.error("prod-smoke: not served:", JSON.stringify(bad)); process.exit(1); }
    console.log(`prod-smoke: served ${paths.join(" ")}`);
  });'
(cd "$repo" && node --import tsx scripts/session-smoke.ts "http://127.0.0.1:$port" "$secret" "$key")

kill -TERM "$gateway"
status=0
wait "$gateway" || status=$?
[ "$status" = 0 ] || { echo "prod-smoke: exit status $status after SIGTERM" >&2; cat "$work/gateway.log" >&2; exit 1; }
echo "prod-smoke: SIGTERM drained and exited 0"
echo "prod-smoke: passed"
