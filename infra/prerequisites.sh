# Installs, when missing, what the demo and the tests need on Debian/Ubuntu. Sourced by demo.sh and test.sh.
# Each command installs only what it uses: demo.sh calls ensure_demo_prerequisites, test.sh
# ensure_test_prerequisites (the demo's set plus the tests' reference peers). To add a prerequisite, write an
# ensure_X function in your own block below and call it with one line from the ensure_* function that needs it.

apt_updated=0
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# What running workflows needs: the .NET SDK, PostgreSQL's server programs and XGBoost's native library.
ensure_demo_prerequisites() {
  if ! command -v dotnet >/dev/null; then
    echo "The .NET 10 SDK is required (dotnet not found)." >&2
    exit 2
  fi
  # PostgreSQL server programs for the private local database.
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    echo "installing postgresql..."
    apt_install postgresql || { echo "could not install postgresql" >&2; exit 1; }
  fi
  # XGBoost's native library for Pipelines.Ml (training and prediction).
  if ! ls /usr/lib/*/libxgboost.so* >/dev/null 2>&1 && ! ls /usr/lib/libxgboost.so* >/dev/null 2>&1; then
    echo "installing libxgboost0..."
    apt_install libxgboost0 || { echo "could not install libxgboost0" >&2; exit 1; }
  fi
}

# The demo's set plus what the tests use as reference peers.
ensure_test_prerequisites() {
  ensure_demo_prerequisites
  ensure_tzdata
  # Debian's Python xgboost (same build as libxgboost0) and scikit-learn, which the ML tests run as reference
  # peers (python3-xgboost pulls in numpy).
  if ! /usr/bin/python3 -c "import xgboost, yaml, sklearn" >/dev/null 2>&1; then
    echo "installing python3-xgboost and python3-sklearn..."
    apt_install python3-xgboost python3-yaml python3-sklearn || { echo "could not install python3-xgboost/python3-sklearn" >&2; exit 1; }
  fi
  ensure_mlflow_server
  ensure_test_node_packages
  ensure_web_ui
  ensure_deploy_prerequisites
}

# Node packages the tests need: Azurite only (DuckDB is in process through the DuckDB.NET NuGet package).
ensure_test_node_packages() {
  # Install when any dependency named in package.json is missing (a new one may have been added since).
  if [ -f tests/node/package.json ] && ! node -e '
      const deps = Object.keys(require("./tests/node/package.json").dependencies || {});
      const fs = require("fs");
      process.exit(deps.every(d => fs.existsSync("tests/node/node_modules/" + d + "/package.json")) ? 0 : 1);' 2>/dev/null; then
    if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
    echo "installing node packages for tests..."
    # package.json pins exact versions; no lock file, so nothing host-specific is recorded.
    npm install --prefix tests/node --no-package-lock --no-audit --no-fund --loglevel=error \
      || { echo "npm install in tests/node failed" >&2; exit 1; }
  fi
}

# ---- deploy (issue 17): what tests/Pipelines.Deploy.Tests runs ----
ensure_deploy_prerequisites() {
  # kubectl kustomize renders infra/k8s (Debian's kubernetes-client is kubectl 1.20 with kustomize v2.0.3, the
  # oldest kustomize the overlays are written for; a newer kubectl renders them too).
  if ! command -v kubectl >/dev/null; then
    echo "installing kubernetes-client..."
    apt_install kubernetes-client || { echo "could not install kubernetes-client" >&2; exit 1; }
  fi
  # docker-compose (the Python one Debian ships) checks infra/compose.yaml against the Compose schema, offline.
  if ! command -v docker-compose >/dev/null; then
    echo "installing docker-compose..."
    apt_install docker-compose || { echo "could not install docker-compose" >&2; exit 1; }
  fi
}

# Kept for scripts written against the single function: the tests' set includes the demo's.
ensure_prerequisites() { ensure_test_prerequisites; }

# ---- newuser: time zones ----
# The daylight-saving cron tests need real zone data (Europe/Amsterdam, Australia/Lord_Howe…); without it they fail.
ensure_tzdata() {
  if [ ! -f /usr/share/zoneinfo/Australia/Lord_Howe ]; then
    echo "installing tzdata..."
    apt_install tzdata || { echo "could not install tzdata" >&2; exit 1; }
  fi
}

# --- mlflow (issue 11) ---
# The real MLflow tracking server and Python client the tests run against (../shared/mlflow-server, or
# PIPELINES_MLFLOW_SERVER): its own install step adds the Debian python3 packages it needs when they are missing.
ensure_mlflow_server() {
  local script="${PIPELINES_MLFLOW_SERVER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/mlflow-server/mlflow-server}"
  if [ ! -x "$script" ]; then
    echo "the MLflow server for the tests is missing ($script); its tests will fail" >&2
    return 0
  fi
  if ! /usr/bin/python3 -c 'import flask, sqlalchemy, alembic, pandas, sklearn, xgboost, gunicorn, deprecated, git' >/dev/null 2>&1; then
    echo "installing the python3 packages of the MLflow test server..."
    $SUDO "$script" install || { echo "could not install the MLflow server's python3 packages" >&2; exit 1; }
  fi
}

# --- web UI (src/Pipelines.Web) -------------------------------------------------------------------------------------
# Builds the web UI the server embeds, when its dist is missing or older than its sources, and Debian's Chromium for
# the browser tests (Playwright drives /usr/bin/chromium; no browser is ever downloaded).
web_ui_node_ok() {
  command -v node >/dev/null || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}

build_web_ui() {
  local web=src/Pipelines.Web
  if ! web_ui_node_ok; then
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm || true; fi
  fi
  if ! web_ui_node_ok; then
    echo "The web UI needs Node.js 20.19 or newer (Vite 8); found: $(node --version 2>/dev/null || echo 'no node')." >&2
    echo "Install Node.js >= 20.19 (e.g. apt-get install nodejs npm on Debian 13), then run: (cd $web && npm ci && npx vite build)" >&2
    return 2
  fi
  # npm ci when node_modules is missing or older than the lock file.
  if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
    echo "installing web UI packages (npm ci)..."
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci in $web failed" >&2; return 1; }
  fi
  # vite build when dist is missing or any source is newer than it.
  if [ ! -f "$web/dist/index.html" ] || [ -n "$(find "$web/src" "$web/index.html" "$web/package-lock.json" "$web/vite.config.ts" -newer "$web/dist/index.html" -print -quit)" ]; then
    echo "building the web UI (vite build)..."
    (cd "$web" && node_modules/.bin/vite build --logLevel warn) || { echo "vite build in $web failed" >&2; return 1; }
  fi
}

ensure_web_ui() {
  build_web_ui || exit $?
  if [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium (for the web UI tests)..."
    apt_install chromium fonts-dejavu-core || { echo "could not install chromium" >&2; exit 1; }
  fi
}
