#!/usr/bin/env bash
# Make sure what the tests talk to is installed and running: Redis on 127.0.0.1:6379 and the
# Debian packages later suites need. Idempotent; installs only what is missing.
set -euo pipefail

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# The widget's browser tests drive Debian's Chromium through Playwright (never `playwright
# install`: only package registries are reachable).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The e-mail channel's tests run a throw-away Dovecot (IMAP) as root.
command -v dovecot >/dev/null 2>&1 || need_apt+=(dovecot-imapd)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages: ${need_apt[*]} (run as root or install them)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    mkdir -p /tmp/openlines-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp/openlines-redis --logfile /tmp/openlines-redis/redis.log
    for _ in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
fi
