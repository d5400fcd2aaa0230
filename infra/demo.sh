#!/usr/bin/env bash
# The demo: nightly retraining on UCI Adult, then batch scoring with the new champion, on the embedded
# defaults (a private PostgreSQL under .pipelines/, the local artifact folder, the built-in MLflow endpoint,
# in-process workers). At a terminal it asks for the approval; without one it approves automatically.
# Running it again reuses cached steps and compares the candidate with the new champion.
set -euo pipefail
cd "$(dirname "$0")/.."
. infra/prerequisites.sh
ensure_demo_prerequisites
dotnet build src/Pipelines.Cli -c Release -nologo -v quiet -clp:ErrorsOnly
pipelines() { dotnet src/Pipelines.Cli/bin/Release/net10.0/pipelines.dll "$@"; }

approve=()
if [ ! -t 0 ] || [ ! -t 1 ]; then approve=(--auto-approve); fi

echo "== nightly training (workflows/adult-income-nightly.yaml)"
# A candidate that does not beat the champion is stopped by the evaluation gate (exit code 1); scoring then
# goes on with the current champion.
pipelines run workflows/adult-income-nightly.yaml "${approve[@]}" "$@" \
  || echo "(the nightly run did not promote a new model; scoring uses the current champion)"
echo
echo "== batch scoring with the champion (workflows/adult-income-scoring.yaml)"
pipelines run workflows/adult-income-scoring.yaml

state="${PIPELINES_HOME:-$PWD/.pipelines}"
cat <<EOT

Where things are:
  runs and attempts:    pipelines runs list / pipelines runs show RUN
  artifacts (Parquet datasets, reports, models, predictions): $state/artifacts  (pipelines artifacts list)
  MLflow runs, metrics and the model registry: in the same PostgreSQL; browse them with
    pipelines serve --urls http://127.0.0.1:5000   then point MLflow clients at that address
  (pipelines = dotnet src/Pipelines.Cli/bin/Release/net10.0/pipelines.dll)
EOT
