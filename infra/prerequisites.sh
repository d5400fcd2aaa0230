# Installs, when missing, what the demo and the tests need on Debian/Ubuntu. Sourced by demo.sh and test.sh.

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_prerequisites() {
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  if ! command -v dotnet >/dev/null; then
    echo "The .NET 10 SDK is required (dotnet not found)." >&2
    exit 2
  fi
  # PostgreSQL server programs for the private local database.
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    echo "installing postgresql..."
    apt_install postgresql || { echo "could not install postgresql" >&2; exit 1; }
  fi
  # XGBoost's native library for Pipelines.Ml (training and prediction); Debian's Python xgboost (same build) and
  # scikit-learn, which the ML tests run as reference peers (python3-xgboost pulls in numpy).
  if ! ls /usr/lib/*/libxgboost.so* >/dev/null 2>&1 && ! ls /usr/lib/libxgboost.so* >/dev/null 2>&1; then
    echo "installing libxgboost0..."
    apt_install libxgboost0 || { echo "could not install libxgboost0" >&2; exit 1; }
  fi
  if ! /usr/bin/python3 -c "import xgboost, yaml" >/dev/null 2>&1; then
    echo "installing python3-xgboost..."
    apt_install python3-xgboost python3-yaml || { echo "could not install python3-xgboost" >&2; exit 1; }
  fi
  ensure_mlflow_server
  # Node packages used by the tests as reference implementations (DuckDB, Azurite).
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
