#!/bin/bash
# The image's entry point (under tini): `server`, `worker`, `migrate`, or any other pipelines command.
# Adds container defaults for options not given on the command line, from environment variables, then execs the
# CLI so that it is the process tini sends SIGTERM to (a worker then finishes or hands back its in-flight steps
# within --shutdown-grace; the orchestrator's grace period must be longer than that).
#
#   server   --urls http://0.0.0.0:$PIPELINES_HTTP_PORT; --workflows from PIPELINES_WORKFLOWS (space-separated
#            files or folders, imported when absent and their schedules registered); --workers from
#            PIPELINES_SERVER_WORKERS (in-process worker slots, default 0: separate worker processes)
#   worker   --shutdown-grace $PIPELINES_SHUTDOWN_GRACE; --concurrency from PIPELINES_WORKER_CONCURRENCY;
#            --queues from PIPELINES_QUEUES
#   migrate  --wait $PIPELINES_MIGRATE_WAIT (default 120s: the database may still be starting)
#
# MLFLOW_TRACKING_TOKEN_FILE: read MLFLOW_TRACKING_TOKEN from this file when it is not set (a mounted secret, or the
# key the compose bootstrap service writes).
set -euo pipefail

if [ -z "${MLFLOW_TRACKING_TOKEN:-}" ] && [ -n "${MLFLOW_TRACKING_TOKEN_FILE:-}" ] && [ -s "$MLFLOW_TRACKING_TOKEN_FILE" ]; then
  MLFLOW_TRACKING_TOKEN=$(<"$MLFLOW_TRACKING_TOKEN_FILE")
  export MLFLOW_TRACKING_TOKEN
fi

dll=${PIPELINES_DLL:-/app/pipelines.dll}
command=${1:-server}
[ $# -gt 0 ] && shift
args=("$@")

given() { # is option $1 on the command line?
  local a
  for a in "${args[@]}"; do [[ $a == "$1" || $a == "$1="* ]] && return 0; done
  return 1
}
default() { # $1 option, $2 value: add unless given or empty
  [ -n "$2" ] && ! given "$1" && args+=("$1" "$2")
  return 0
}

case "$command" in
  server)
    default --urls "http://0.0.0.0:${PIPELINES_HTTP_PORT:-8080}"
    default --workers "${PIPELINES_SERVER_WORKERS:-}"
    if ! given --workflows; then
      for w in ${PIPELINES_WORKFLOWS:-}; do args+=(--workflows "$w"); done
    fi
    ;;
  worker)
    default --shutdown-grace "${PIPELINES_SHUTDOWN_GRACE:-25s}"
    default --concurrency "${PIPELINES_WORKER_CONCURRENCY:-}"
    default --queues "${PIPELINES_QUEUES:-}"
    ;;
  migrate)
    default --wait "${PIPELINES_MIGRATE_WAIT:-120s}"
    ;;
esac

exec dotnet "$dll" "$command" "${args[@]}"
