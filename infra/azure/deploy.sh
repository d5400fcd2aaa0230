#!/usr/bin/env bash
# Deploys one environment of infra/azure with a given image, migrations first:
#   1. the migrations job (if it exists) gets the new image and runs; the rollout stops if it fails
#   2. main.bicep with ENV.bicepparam: infrastructure and the new image for the server and workers
#   3. on a first deployment, the migrations job runs now (the apps also migrate at start, under a lock)
#   4. the server's /readyz must answer 200
#
#   POSTGRES_ADMIN_PASSWORD=... bash infra/azure/deploy.sh dev pipelines-dev pipelinesregistry.azurecr.io/pipelines:1.4.2
# Needs the Azure CLI, logged in (the pipeline's AzureCLI task does that).
set -euo pipefail
cd "$(dirname "$0")"
env=${1:?usage: deploy.sh dev|prod RESOURCE_GROUP IMAGE}
group=${2:?resource group}
export PIPELINES_IMAGE=${3:?image}
: "${POSTGRES_ADMIN_PASSWORD:?set POSTGRES_ADMIN_PASSWORD (a secret pipeline variable)}"
export POSTGRES_ADMIN_PASSWORD
job="caj-pipelines-$env-migrate"

run_migrations() {
  local execution status
  execution=$(az containerapp job start -n "$job" -g "$group" --query name -o tsv)
  echo "migrations: $execution"
  for _ in $(seq 1 180); do
    status=$(az containerapp job execution show -n "$job" -g "$group" --job-execution-name "$execution" --query properties.status -o tsv)
    case "$status" in
      Succeeded) echo "migrations succeeded"; return 0 ;;
      Failed|Stopped|Degraded) echo "migrations $status: the apps were not updated" >&2; return 1 ;;
    esac
    sleep 5
  done
  echo "migrations did not finish in 15 minutes" >&2
  return 1
}

existed=false
if az containerapp job show -n "$job" -g "$group" >/dev/null 2>&1; then
  existed=true
  az containerapp job update -n "$job" -g "$group" --image "$PIPELINES_IMAGE" >/dev/null
  run_migrations
fi

az deployment group create -g "$group" -n "pipelines-$env-$(date +%Y%m%d%H%M%S)" \
  -f main.bicep -p "$env.bicepparam" --query properties.outputs -o json > outputs.json
[ "$existed" = true ] || run_migrations

url=$(python3 -c 'import json; print(json.load(open("outputs.json"))["serverUrl"]["value"])')
for _ in $(seq 1 60); do
  if curl -fsS "$url/readyz" >/dev/null; then echo "ready: $url"; exit 0; fi
  sleep 5
done
echo "$url/readyz did not answer 200 within 5 minutes" >&2
exit 1
