#!/usr/bin/env bash
# Install the Debian packages the tests run for real: promtool and Prometheus, Alertmanager and amtool,
# node-exporter, and headless Chromium (the dashboard preview is checked in a real browser).
# Does nothing when they are already there.
set -euo pipefail
needed=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || needed+=(prometheus)
command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null || needed+=(prometheus-alertmanager)
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
