#!/usr/bin/env bash
# Run a command under an official Node release taken from the npm registry
# (the `node-<os>-<arch>` packages), e.g.:
#   bash scripts/with-node.sh 24 npx vitest run --project integration-ws
# The release is cached in ${TETHER_NODE_CACHE:-~/.cache/tether/node}/<version> and
# its bin/ goes first on PATH, so npx and npm (`#!/usr/bin/env node` scripts) run on
# it too. npm checks the download against the registry's integrity hash. Offline,
# the newest cached release of that major is used.
set -euo pipefail

major=${1:-}
if ! [[ $major =~ ^[0-9]+$ ]] || [ $# -lt 2 ]; then
  echo "usage: $0 <node major version> <command> [args...]" >&2
  exit 2
fi
shift

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
package="node-$(uname -s | tr '[:upper:]' '[:lower:]')-$arch"
cache=${TETHER_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tether/node}
mkdir -p "$cache"

# The newest published version of that major (npm answers a string or a list, not in semver order).
version=$(npm view "$package@$major" version --json 2>/dev/null |
  node -e '
    const key = (v) => v.split(".").map(Number);
    const newer = (a, b) => { const [x, y] = [key(a), key(b)]; const i = x.findIndex((n, j) => n !== y[j]); return i < 0 ? 0 : x[i] - y[i]; };
    console.log([].concat(JSON.parse(require("fs").readFileSync(0, "utf8"))).sort(newer).pop() ?? "");' ||
  true)
if [ -z "$version" ]; then
  version=$(find "$cache" -mindepth 1 -maxdepth 1 -name "$major.*" -printf '%f\n' | sort -V | tail -1)
  [ -n "$version" ] || { echo "with-node: cannot reach the registry for $package@$major, and none cached" >&2; exit 1; }
  echo "with-node: registry unreachable; using cached Node $version" >&2
fi

dir="$cache/$version"
if [ ! -x "$dir/bin/node" ]; then
  echo "with-node: fetching $package@$version (about 50 MB) into $dir" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work"
  rm -rf "$dir.partial"
  mv "$work/package" "$dir.partial"
  mv "$dir.partial" "$dir"
fi

export PATH="$dir/bin:$PATH"
echo "with-node: $(node --version) (ABI $(node -p process.versions.modules)) from $package@$version" >&2
"$@"
