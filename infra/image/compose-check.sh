#!/usr/bin/env bash
# Runs the compose stack on this machine and a nightly through it, as a user following the README would:
# up, an admin key, the nightly started, approved through the API by a second user (an approver), the champion
# checked in the model registry, the artifacts checked in Azurite, then `stop` (server and workers must exit 0) and
# `down -v`. Not part of the test command (it builds images and takes minutes); prints what it saw.
#
#   bash infra/image/build-local.sh            # once: base images from Debian packages, then the Pipelines image
#   bash infra/image/compose-check.sh
#
# Without a container registry, PostgreSQL and Azurite come from infra/compose.local.yaml (built from packages). Compose
# talks to podman's Docker-compatible API (Debian's docker-compose 1.29, which honours depends_on conditions); the API
# service runs with the options infra/image/podman-options.sh finds for this machine, and, as podman runs health checks
# from systemd timers and there is no systemd in a container sandbox, a loop here runs them every 3 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in podman docker-compose curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install podman docker-compose curl python3 golang-github-containernetworking-plugin-dnsname)" >&2; exit 2; }
done
podman image exists localhost/pipelines:dev || { echo "no localhost/pipelines:dev: run infra/image/build-local.sh first" >&2; exit 2; }

work=$(mktemp -d)
. infra/image/podman-options.sh localhost/pipelines-build/debian:bookworm
conf=$work/containers.conf
{
  echo "[containers]"
  ulimits=(); for ((i = 0; i < ${#PODMAN_RUN[@]}; i++)); do [ "${PODMAN_RUN[$i]}" = --ulimit ] && ulimits+=("\"${PODMAN_RUN[$((i + 1))]}\""); done
  [ ${#ulimits[@]} -gt 0 ] && echo "default_ulimits = [$(IFS=,; echo "${ulimits[*]}")]"
  echo "[engine]"
  [[ " ${PODMAN_GLOBAL[*]} " == *" --cgroup-manager=cgroupfs "* ]] && echo 'cgroup_manager = "cgroupfs"'
  [[ " ${PODMAN_RUN[*]} " == *" runc "* ]] && echo 'runtime = "runc"'
} >"$conf"
export CONTAINERS_CONF=$conf
export DOCKER_HOST=unix://$work/podman.sock
podman "${PODMAN_GLOBAL[@]}" system service --time=0 "$DOCKER_HOST" >"$work/podman-service.log" 2>&1 &
service=$!
( while true; do
    for c in $(podman "${PODMAN_GLOBAL[@]}" ps --filter label=com.docker.compose.project=pipelines --format '{{.Names}}' 2>/dev/null); do
      podman "${PODMAN_GLOBAL[@]}" healthcheck run "$c" >/dev/null 2>&1 || true
    done
    sleep 3
  done ) &
health=$!
compose=(docker-compose -p pipelines -f infra/compose.yaml -f infra/compose.local.yaml)
# The image declares /var/lib/pipelines a volume: every container of it that has none mounted there (migrate, the
# one-off `run`s, the workers) gets an anonymous one, which `down -v` leaves behind under podman. Those are removed
# too: the volumes that did not exist before this script.
volumes_before=$(podman volume ls -q | sort)
cleanup() {
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  comm -13 <(echo "$volumes_before") <(podman volume ls -q | sort) | xargs -r podman volume rm >/dev/null 2>&1 || true
  kill "$health" "$service" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do [ -S "$work/podman.sock" ] && break; sleep 0.2; done

start=$(date +%s)
"${compose[@]}" up -d
api=http://127.0.0.1:${PIPELINES_PORT:-8080}/api/v1
for _ in $(seq 120); do curl -fs "${api%/api/v1}/readyz" >/dev/null 2>&1 && break; sleep 1; done
echo "stack up in $(( $(date +%s) - start )) s:"
podman "${PODMAN_GLOBAL[@]}" ps -a --filter label=com.docker.compose.project=pipelines --format '  {{.Names}}: {{.Status}}'

key() { "${compose[@]}" run --rm migrate keys create --name "$1" --role "$2" 2>/dev/null | tr -d '\r\n'; }
admin=$(key me admin)
approver=$(key olga approver)
run=$("${compose[@]}" run --rm migrate run workflows/adult-income-nightly.yaml --workers 0 --no-wait 2>/dev/null | tr -d '\r\n')
echo "nightly run $run started"
get() { curl -fs -H "Authorization: Bearer $1" "$api$2"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
for _ in $(seq 120); do
  approval=$(get "$approver" /approvals | field "next((a['id'] for a in d['items'] if a['runId']=='$run'), '')")
  [ -n "$approval" ] && break
  sleep 2
done
[ -n "$approval" ] || { echo "no approval requested for $run"; exit 1; }
curl -fs -X POST -H "Authorization: Bearer $approver" -H "Content-Type: application/json" \
  -d '{"approved": true, "comment": "compose check"}' "$api/approvals/$approval/decision" >/dev/null
echo "approved by the approver key (olga)"
for _ in $(seq 120); do
  state=$(get "$admin" "/runs/$run" | field "d['state']")
  case "$state" in succeeded|failed|cancelled|stopped) break ;; esac
  sleep 2
done
echo "nightly: $state"
echo "models: $(get "$admin" /models | field "[(m['name'], m['aliases']) for m in d['items']]")"
echo "artifacts of the run: $(get "$admin" "/artifacts?runId=$run" | field "sorted({a['uri'].split('/attempts/')[0] for a in d['items']})")"
echo "attempts per worker: $(podman "${PODMAN_GLOBAL[@]}" exec pipelines_postgres_1 psql -U pipelines -d pipelines -Atc "SELECT string_agg(worker_id || ' ' || n, ', ') FROM (SELECT worker_id, count(*) n FROM attempts GROUP BY 1) x")"
"${compose[@]}" stop >/dev/null 2>&1
echo "after stop:"
podman "${PODMAN_GLOBAL[@]}" ps -a --filter label=com.docker.compose.project=pipelines --format '  {{.Names}}: {{.Status}}'
[ "$state" = succeeded ]
