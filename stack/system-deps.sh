#!/usr/bin/env bash
# System packages the stack and the tests need, from Debian, installed only when missing:
# Java + Maven (the Kafka broker), PostgreSQL 15, Prometheus and promtool (the local
# stack's monitoring, the alert-rule tests), Chromium and a CJK font (the dashboard
# browser test), iptables (the network partitions of `make chaos`).
set -euo pipefail
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
command -v promtool >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || need+=(fonts-wqy-microhei)
command -v iptables >/dev/null || need+=(iptables)  # make chaos's network partitions (stack/netns.py)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing system packages: ${need[*]} (install them as root)" >&2; exit 1; fi
  echo "[deps] installing ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
