#!/usr/bin/env bash
# CLI start-up benchmark (issue 13, item 5): the median wall time of `--help`, `runs list`, `runs show RUN` and
# `models show MODEL` against a private PostgreSQL that is already running, as a user runs them after the README's
# Release build. Not a test: it prints figures (and the load average beside them) for docs/benchmarks.md.
#
#   infra/bench-cli.sh [RUNS]                 (default 11 runs per command, after one warm-up run each)
#
# Environment: PIPELINES_CLI (default: dotnet src/Pipelines.Cli/bin/Release/net10.0/pipelines.dll),
# BENCH_HOME (default: /tmp/pipelines-cli-bench; its .pipelines state folder is created once and then reused:
# a finished `hello` run and a registered model with two versions and the champion alias). Its private PostgreSQL
# keeps running afterwards, as after any command: `PIPELINES_HOME=$BENCH_HOME/.pipelines pipelines local stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${1:-11}
read -r -a cli <<<"${PIPELINES_CLI:-dotnet $repo/src/Pipelines.Cli/bin/Release/net10.0/pipelines.dll}"
home=${BENCH_HOME:-/tmp/pipelines-cli-bench}
mkdir -p "$home"
cd "$home"
export PIPELINES_HOME="$home/.pipelines"
unset MLFLOW_TRACKING_URI PIPELINES_DATABASE_URL

if [ ! -f "$home/prepared" ]; then
  echo "preparing $PIPELINES_HOME (one run of hello.yaml, one registered model)" >&2
  cp "$repo/workflows/examples/hello.yaml" "$home/hello.yaml"
  "${cli[@]}" run hello.yaml --auto-approve >/dev/null
  # A model through the built-in MLflow endpoint, as a promote step would register one.
  port=$(( 20000 + RANDOM % 20000 ))
  "${cli[@]}" serve --urls "http://127.0.0.1:$port" >"$home/serve.log" 2>&1 &
  serve=$!
  api="http://127.0.0.1:$port/api/2.0/mlflow"
  for _ in $(seq 120); do curl -fs "$api/registered-models/search" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fs -XPOST "$api/registered-models/create" -d '{"name":"bench-model"}' >/dev/null
  for _ in 1 2; do curl -fs -XPOST "$api/model-versions/create" -d '{"name":"bench-model","source":"file:///tmp/bench-model"}' >/dev/null; done
  curl -fs -XPOST "$api/registered-models/alias" -d '{"name":"bench-model","alias":"champion","version":"2"}' >/dev/null
  curl -fs -XPOST "$api/registered-models/alias" -d '{"name":"bench-model","alias":"previous-champion","version":"1"}' >/dev/null
  kill "$serve"; wait "$serve" 2>/dev/null || true
  touch "$home/prepared"
fi
run=$("${cli[@]}" runs list --limit 1 --quiet)

# Medians of $runs wall times and of $runs CPU times (user + system, which load disturbs less) of one command, in ms;
# its output goes nowhere, a failure stops the benchmark.
median() {
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  local samples=() TIMEFORMAT='%3R %3U %3S'
  for _ in $(seq "$runs"); do
    samples+=("$({ time "$@" >/dev/null 2>&1; } 2>&1)")
  done
  printf '%s\n' "${samples[@]}" | awk '{print $1*1000, ($2+$3)*1000}' | python3 -c '
import statistics, sys
rows = [tuple(map(float, l.split())) for l in sys.stdin]
wall, cpu = [r[0] for r in rows], [r[1] for r in rows]
print(f"{statistics.median(wall):.0f} ms (min {min(wall):.0f}, max {max(wall):.0f})  cpu {statistics.median(cpu):.0f} ms")'
}

printf '%-24s %-44s %s\n' command "median of $runs: wall (min, max), cpu" "load before"
for c in "--help" "runs list" "runs show $run" "models show bench-model"; do
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  # shellcheck disable=SC2086
  printf '%-24s %-44s %s\n' "${c/$run/RUN}" "$(median "${cli[@]}" $c)" "$load"
done

# The floor under those figures: a program that only starts .NET, opens one Npgsql connection (the CLI's ReadyToRun
# Npgsql image) and reads the schema table (infra/startup-floor).
floor=$home/startup-floor
if [ ! -f "$floor/StartupFloor.dll" ]; then
  dotnet build "$repo/infra/startup-floor/StartupFloor.csproj" -c Release -o "$floor" -nologo -v quiet -clp:ErrorsOnly >&2
fi
cli_dir=$(dirname "${cli[-1]}")
[ -f "$cli_dir/Npgsql.dll" ] && cp "$cli_dir/Npgsql.dll" "$floor/Npgsql.dll"
STARTUP_FLOOR_DB=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"Host=127.0.0.1;Port={d['Port']};Username=pipelines;Password={d['Password']};Database=pipelines\")" "$PIPELINES_HOME/postgres.json")
export STARTUP_FLOOR_DB
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf '%-24s %-44s %s\n' "floor: connect + read" "$(median dotnet "$floor/StartupFloor.dll")" "$load"
