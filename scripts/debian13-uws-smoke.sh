#!/usr/bin/env bash
# The native uWS edge on Node 24, where it can load: a Debian 13 (trixie, glibc
# 2.41) root made with debootstrap, the official Node 24 (or --node N) from the registry, this
# checkout bind-mounted. Starts the gateway there with EDGE=uws (it refuses to
# start if no native build loads), then runs one full session against it from the
# host (scripts/session-smoke.ts). Root only (debootstrap, chroot, mounts).
#
#   sudo bash scripts/debian13-uws-smoke.sh           # the smoke test (about 1 min the first time)
#   sudo bash scripts/debian13-uws-smoke.sh --suite   # and then the unit, edge and integration
#                                                     # tests there on the uWS edge (a few minutes)
#   sudo bash scripts/debian13-uws-smoke.sh --node 22 # another Node line (default 24)
#
# The root is kept in ${TETHER_DEBIAN13_ROOT:-/var/tmp/tether-debian13} for the
# next run (about 30 s and 220 MB to make). Not part of .ci/run: it needs root,
# mounts and a Debian mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "debian13-uws-smoke: needs root (debootstrap, chroot, mount)" >&2
  exit 1
fi
suite=false
node_major=24
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite=true ;;
    --node) node_major=$2; shift ;;
    *) echo "usage: $0 [--suite] [--node MAJOR]" >&2; exit 2 ;;
  esac
  shift
done
root=${TETHER_DEBIAN13_ROOT:-/var/tmp/tether-debian13}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ ! -x "$root/bin/sh" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
  echo "debian13-uws-smoke: debootstrap trixie into $root"
  debootstrap --variant=minbase trixie "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
    { tail -20 "$root.debootstrap.log" >&2; exit 1; }
fi
node_bin=$(bash scripts/with-node.sh "$node_major" sh -c 'dirname "$(command -v node)"')

mounts=()
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true; done
}
trap cleanup EXIT
bind() {
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
}
bind "$repo" "$root/tether"
bind "$(dirname "$node_bin")" "$root/opt/node"
bind /dev "$root/dev"
# npm (some tests pack the client SDK): the registry's Node packages ship without it.
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
bind "$npm_dir" "$root/opt/npm"
mkdir -p "$root/usr/local/bin"
printf '#!/bin/sh\nexec node /opt/npm/bin/npm-cli.js "$@"\n' >"$root/usr/local/bin/npm"
chmod +x "$root/usr/local/bin/npm"
# The root trusts what the host trusts (a proxy's CA, say) for the registry.
touch "$root/etc/ssl/host-ca-certificates.crt"
bind_file() { mount --bind "$1" "$2" && mounts+=("$2"); }
bind_file /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host-ca-certificates.crt"
mkdir -p "$root/proc"
mount -t proc proc "$root/proc"
mounts+=("$root/proc")

free_port() { node -e "require('net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port); this.close(); })"; }
redis_port=$(free_port)
port=$(free_port)
secret=debian13-smoke-secret-at-least-32-characters
key=debian13-smoke-publish-key
log=$(mktemp)

# Redis runs on the host: the root shares its network, and only the edge is under test.
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
chroot "$root" /usr/bin/env -i PATH=/opt/node/bin:/usr/bin:/bin HOME=/tmp \
  EDGE=uws HOST=127.0.0.1 PORT="$port" REDIS_URL="redis://127.0.0.1:$redis_port" \
  AUTH_JWT_SECRET="$secret" PUBLISH_API_KEYS="$key" \
  sh -c 'cd /tether && exec node --enable-source-maps --import tsx src/main.ts' >"$log" 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
  grep -q '"msg":"listening"' "$log" && break
  if ! kill -0 "${pids[1]}" 2>/dev/null; then
    echo "debian13-uws-smoke: the gateway exited before listening:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
grep -q '"msg":"listening"' "$log" || { echo "debian13-uws-smoke: no \"listening\" within 60 s" >&2; cat "$log" >&2; exit 1; }
echo "debian13-uws-smoke: $(chroot "$root" sh -c '. /etc/os-release; echo "$PRETTY_NAME"'), $(chroot "$root" /opt/node/bin/node -p '`Node ${process.version}, glibc ${process.report.getReport().header.glibcVersionRuntime}`')"
grep -o '"msg":"edge: [^"]*"' "$log"
node --import tsx scripts/session-smoke.ts "http://127.0.0.1:$port" "$secret" "$key"
$suite || exit 0

# What the suite needs in the root, as scripts/ensure-system-deps.sh installs it on the host.
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server chromium prometheus >/dev/null'
chroot "$root" /usr/bin/env -i PATH=/opt/node/bin:/usr/local/bin:/usr/bin:/bin HOME=/tmp CI=true TEST_EDGES=uws,ws \
  NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-certificates.crt npm_config_cafile=/etc/ssl/host-ca-certificates.crt \
  sh -c 'cd /tether && node node_modules/vitest/vitest.mjs run --project unit --project integration-uws'
