#!/usr/bin/env bash
# Runs the demo pipeline on the embedded defaults: a private local PostgreSQL (provisioned on first use
# under .pipelines/), in-process workers, live progress. Extra arguments go to `pipelines run`.
set -euo pipefail
cd "$(dirname "$0")/.."
. infra/prerequisites.sh
ensure_prerequisites
dotnet build src/Pipelines.Cli -c Release -nologo -v quiet -clp:ErrorsOnly
exec dotnet src/Pipelines.Cli/bin/Release/net10.0/pipelines.dll run workflows/examples/hello.yaml "$@"
