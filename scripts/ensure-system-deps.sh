#!/usr/bin/env bash
# System packages the test suite needs: redis-server (tests start their own, so
# they can kill it), chromium (real-browser tests) and promtool (alert rules).
# Idempotent and quick when everything is present; installs with apt when root.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "tether: missing system packages: ${need[*]}" >&2
  echo "        install them (Debian/Ubuntu: sudo apt-get install -y ${need[*]}) and run again." >&2
  exit 1
fi
echo "tether: installing system packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian prometheus package starts a server on install where an init system runs;
# the tests only need promtool.
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
pkill -x prometheus >/dev/null 2>&1 || true
echo "tether: system packages ready" >&2
