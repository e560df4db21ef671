#!/usr/bin/env bash
# System packages the test suite needs: redis-server (tests start their own, so
# they can kill it), chromium (real-browser tests), promtool (alert rules) and nginx
# (the reverse-proxy example).
# Idempotent and quick when everything is present; installs with apt when root.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# nginx: test/integration/nginx-proxy.test.ts runs ops/nginx/nginx.conf in front of a gateway.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "tether: missing system packages: ${need[*]}" >&2
  echo "        install them (Debian/Ubuntu: sudo apt-get install -y ${need[*]}) and run again." >&2
  exit 1
fi
installing_prometheus=false
[[ " ${need[*]} " == *" prometheus "* ]] && installing_prometheus=true
# A Prometheus the user already runs must survive: note what runs before the install.
service_was_active=false
prometheus_pids_before=" "
if $installing_prometheus; then
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    service_was_active=true
  fi
  prometheus_pids_before=" $(pgrep -x prometheus 2>/dev/null | tr '\n' ' ' || true) "
fi

echo "tether: installing system packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null

# The Debian prometheus package starts a server on install where an init system runs;
# the tests only need promtool. Stop only what this install started.
if $installing_prometheus; then
  if ! $service_was_active && command -v systemctl >/dev/null 2>&1; then
    systemctl stop prometheus >/dev/null 2>&1 || true
  fi
  for pid in $(pgrep -x prometheus 2>/dev/null || true); do
    [[ "$prometheus_pids_before" == *" $pid "* ]] || kill "$pid" 2>/dev/null || true
  done
fi
echo "tether: system packages ready" >&2
