#!/bin/bash
# The image's HEALTHCHECK. A server is healthy when GET /readyz answers 200 (database and artifact store
# reachable); a worker has no HTTP port and is healthy while its process runs (a hung worker loses its leases and
# the leader hands its steps to others). Uses bash's /dev/tcp: the image carries no curl.
set -uo pipefail
port=${PIPELINES_HTTP_PORT:-8080}
path=${1:-/readyz}

mode=""
for cmdline in /proc/[0-9]*/cmdline; do
  args=$(tr '\0' ' ' < "$cmdline" 2>/dev/null) || continue
  case "$args" in
    *pipelines.dll\ server*) mode=server; break ;;
    *pipelines.dll\ worker*) mode=worker ;;
  esac
done

case "$mode" in
  worker) exit 0 ;;
  server) ;;
  *) echo "no pipelines server or worker process" >&2; exit 1 ;;
esac

exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 3 status <&3 || { echo "no answer from :$port$path" >&2; exit 1; }
case "$status" in
  HTTP/1.?\ 200*) exit 0 ;;
  *) echo "$path: ${status%$'\r'}" >&2; exit 1 ;;
esac
