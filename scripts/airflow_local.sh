#!/usr/bin/env bash
# Start Airflow locally with the SkyScript DAGs, to watch a drama run in the UI.
#
#   scripts/airflow_local.sh            # then open the URL it prints and log in
#
# One process tree (`airflow standalone`: api-server, scheduler, dag-processor, triggerer) on the
# embedded default: SQLite metadata under $AIRFLOW_HOME (default $SKYSCRIPT_HOME/airflow, i.e.
# ~/.skyscript/airflow), steps in local mode writing to $SKYSCRIPT_HOME. No broker, no cluster.
# Environment knobs: PORT (8080), AIRFLOW_HOME, SKYSCRIPT_HOME, VENV (the repo's .venv),
# SKYSCRIPT_ORCH_CRAWL_SCHEDULE (empty here: the crawl DAG runs when triggered).
# Ctrl-C stops everything.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
if [[ "$VENV" == "$REPO/.venv" ]]; then
  "$REPO/scripts/bootstrap.sh" cv,postgres,gx,airflow   # installs Airflow and GX the first time
fi
if [[ ! -x "$VENV/bin/airflow" ]]; then
  echo "error: no airflow in $VENV (install the project's 'airflow' extra into that virtualenv, or set VENV)" >&2
  exit 1
fi
export PATH="$VENV/bin:$PATH"

PORT="${PORT:-8080}"
export SKYSCRIPT_HOME="${SKYSCRIPT_HOME:-$HOME/.skyscript}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$SKYSCRIPT_HOME/airflow}"
mkdir -p "$AIRFLOW_HOME"

export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"           # the operators/ package
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$REPO/plugins"                # calibration review, audit reports, lineage pages
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export SKYSCRIPT_ORCH_MODE="${SKYSCRIPT_ORCH_MODE:-local}"
export SKYSCRIPT_ORCH_CRAWL_SCHEDULE="${SKYSCRIPT_ORCH_CRAWL_SCHEDULE:-}"
# every component must sign and accept the same task tokens: keep one secret per AIRFLOW_HOME
SECRET_FILE="$AIRFLOW_HOME/.jwt_secret"
[[ -s "$SECRET_FILE" ]] || (umask 077 && python -c 'import secrets; print(secrets.token_hex(32))' > "$SECRET_FILE")
export AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$SECRET_FILE")"

if [[ "$PORT" == 8793 || "$PORT" == 8794 ]]; then
  echo "error: ports 8793/8794 are Airflow's log servers (worker, triggerer): pick another PORT" >&2
  exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "error: port $PORT is in use (set PORT=...)" >&2
  exit 1
fi

LOG="$AIRFLOW_HOME/standalone.log"
echo "starting Airflow (logs: $LOG) ..."
airflow standalone >"$LOG" 2>&1 &
PID=$!
trap 'echo; echo "stopping Airflow"; kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; exit 0' INT TERM

healthy=""
for _ in $(seq 1 180); do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "error: Airflow exited; last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
  if python - "$PORT" <<'PY' 2>/dev/null; then healthy=1; break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v2/monitor/health", timeout=2)
PY
  sleep 1
done
if [[ -z "$healthy" ]]; then
  echo "error: the API server did not answer on port $PORT within 3 minutes; see $LOG" >&2
  kill -TERM "$PID" 2>/dev/null
  exit 1
fi

PASSWORDS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}"
LOGIN="$(python - "$PASSWORDS" <<'PY'
import json, sys
try:
    users = json.load(open(sys.argv[1]))
    print(", ".join(f"{u} / {p}" for u, p in users.items()))
except OSError:
    print("see 'Login with username' in the log")
PY
)"
SAMPLES="${SKYSCRIPT_SAMPLES:-$HOME/.cache/skyscript/samples}"
cat <<MSG

  Airflow UI:  http://127.0.0.1:$PORT
  login:       $LOGIN
  DAGs:        skyscript_drama (annotate one drama), skyscript_crawl (crawl sources, start runs)
  data:        $SKYSCRIPT_HOME   (skyscript status --drama DRAMA)

  Try: Trigger skyscript_drama in the UI with drama "megamind" and sources ["$SAMPLES/Megamind.avi"],
  or:  AIRFLOW_HOME=$AIRFLOW_HOME $VENV/bin/airflow dags trigger skyscript_drama \\
         --run-id "drama__megamind__\$(date -u +%Y%m%dT%H%M%S)" \\
         --conf '{"drama": "megamind", "sources": ["$SAMPLES/Megamind.avi"]}'
  Ctrl-C stops Airflow.
MSG
wait "$PID"
