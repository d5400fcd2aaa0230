#!/usr/bin/env bash
# Builds and runs every test against real components, then prints "N passed, N failed, N skipped".
# Exits non-zero when the build fails or any test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
. infra/prerequisites.sh
ensure_test_prerequisites

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

if ! dotnet build Pipelines.sln -c Release -nologo -v quiet -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# Without PIPELINES_TEST_DB the tests start a private PostgreSQL in .pipelines/test-postgres; stop it afterwards
# unless it was already running before (then someone else started it and may still be using it).
test_pg() { PIPELINES_HOME=.pipelines/test-postgres dotnet src/Pipelines.Cli/bin/Release/net10.0/pipelines.dll local "$1" >/dev/null; }
test_pg_was_running=0
if [ -z "${PIPELINES_TEST_DB:-}" ] && test_pg status; then test_pg_was_running=1; fi

dotnet test Pipelines.sln -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" "$@"
status=$?

if [ -z "${PIPELINES_TEST_DB:-}" ] && [ "$test_pg_was_running" = 0 ]; then test_pg stop || echo "could not stop the test PostgreSQL (pipelines local stop)"; fi

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); p=${p:-0}
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=${f:-0}
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); t=${t:-0}
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters"); e=${e:-0}
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + t - e))
done
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then
  # The runner failed without a failed test to show for it (a crashed test host, for instance).
  failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$status" = 0 ]
