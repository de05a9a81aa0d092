#!/usr/bin/env bash
# Install the Debian packages the tests run for real: node-exporter and headless Chromium (the dashboard preview
# is checked in a real browser). Prometheus, Alertmanager and the Collector are the pinned releases that
# scripts/build_tools.py builds from their Go modules; only where Go is absent are Debian's (older) prometheus and
# prometheus-alertmanager installed instead. Does nothing when everything is there.
set -euo pipefail
needed=()
if ! command -v go >/dev/null 2>&1; then
  command -v promtool >/dev/null && command -v prometheus >/dev/null || needed+=(prometheus)
  command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null || needed+=(prometheus-alertmanager)
fi
command -v prometheus-node-exporter >/dev/null || needed+=(prometheus-node-exporter)
command -v chromium >/dev/null || needed+=(chromium)
[ ${#needed[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${needed[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
# The packages start their services where an init system runs; the tests start their own on free ports.
for service in prometheus prometheus-alertmanager prometheus-node-exporter; do
  $sudo systemctl stop "$service" 2>/dev/null || true
done
