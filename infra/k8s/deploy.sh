#!/usr/bin/env bash
# Deploys an overlay in order: configuration and backing services, then the migrations Job (waited for), then the
# server and workers (waited for). A failed migration stops here, with the previous release still serving.
#
#   bash infra/k8s/deploy.sh dev|prod [IMAGE]      IMAGE e.g. pipelinesregistry.azurecr.io/pipelines:1.4.2
set -euo pipefail
cd "$(dirname "$0")"
overlay=${1:?usage: deploy.sh dev|prod [IMAGE]}
image=${2:-}
[ -d "overlays/$overlay" ] || { echo "no overlay infra/k8s/overlays/$overlay" >&2; exit 2; }

rendered=$(mktemp)
wrapper=""
trap 'rm -f "$rendered"; [ -n "$wrapper" ] && rm -rf "$wrapper"' EXIT
if [ -n "$image" ]; then
  # Pin the image without editing the overlay: a throwaway kustomization on top of it.
  current=$(kubectl kustomize "overlays/$overlay" | awk '$1 == "image:" && $2 ~ /pipelines/ && $2 !~ /postgres|azurite/ {print $2; exit}')
  wrapper=$(mktemp -d "overlays/.deploy-XXXXXX")
  cat > "$wrapper/kustomization.yaml" <<EOT
resources: [../$overlay]
images:
  - name: ${current%:*}
    newName: ${image%:*}
    newTag: "${image##*:}"
EOT
  kubectl kustomize "$wrapper" > "$rendered"
else
  kubectl kustomize "overlays/$overlay" > "$rendered"
fi
ns=$(awk '$1 == "namespace:" {print $2; exit}' "$rendered")

echo "== configuration and backing services ($ns)"
kubectl apply -f "$rendered" -l 'app.kubernetes.io/component notin (server,worker,migrate)'
if kubectl -n "$ns" get statefulset pipelines-postgres >/dev/null 2>&1; then
  kubectl -n "$ns" rollout status statefulset/pipelines-postgres --timeout=5m
fi

echo "== migrations"
# A Job's pod template cannot change; each release runs a fresh one.
kubectl -n "$ns" delete job pipelines-migrate --ignore-not-found --wait=true
kubectl apply -f "$rendered" -l app.kubernetes.io/component=migrate
if ! kubectl -n "$ns" wait --for=condition=complete job/pipelines-migrate --timeout=15m; then
  kubectl -n "$ns" logs job/pipelines-migrate --tail=50 || true
  echo "migrations failed: the server and workers were not updated" >&2
  exit 1
fi

echo "== server and workers"
kubectl apply -f "$rendered"
kubectl -n "$ns" rollout status deployment/pipelines-server --timeout=10m
kubectl -n "$ns" rollout status deployment/pipelines-worker --timeout=10m
