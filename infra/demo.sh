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
nightly=$(pipelines runs list --workflow adult-income-nightly --limit 1 --quiet)
scoring=$(pipelines runs list --workflow adult-income-scoring --limit 1 --quiet)
echo
echo "== results"
pipelines runs show "$nightly" --results
echo
pipelines runs show "$scoring" --results
cat <<EOT

Where things are:
  the runs above:       pipelines runs show $nightly
                        pipelines runs show $scoring
  all runs:             pipelines runs list
  artifacts (Parquet datasets, reports, models, predictions): $state/artifacts  (pipelines artifacts list)
  models:               pipelines models list / pipelines models show adult-income
  MLflow runs, metrics and the model registry: in the same PostgreSQL; browse them with
    pipelines serve --urls http://127.0.0.1:5000   then point MLflow clients at that address
  still running: the private PostgreSQL in $state, reused by later commands;
    pipelines local status / pipelines local stop
  (pipelines = dotnet src/Pipelines.Cli/bin/Release/net10.0/pipelines.dll)
EOT
