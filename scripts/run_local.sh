#!/usr/bin/env bash
# `make run`: start the Dagster UI (webserver + daemon) and the revloop web app on the embedded
# engines, launch one loop on the demo world, verify the ledger, and keep serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
export REVLOOP_DATA_DIR="${REVLOOP_DATA_DIR:-$PWD/.data}"
export DAGSTER_HOME="$REVLOOP_DATA_DIR/dagster_home"
DAGSTER_PORT="${REVLOOP_DAGSTER_PORT:-3000}"
WEB_PORT="${REVLOOP_WEB_PORT:-8000}"
FIRST_LOOP_DAYS="${REVLOOP_FIRST_LOOP_DAYS:-3}"
mkdir -p "$DAGSTER_HOME"
cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"

"$BIN/revloop" init

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo "stopping revloop..."
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/dagster" dev -m pipelines.definitions -h 127.0.0.1 -p "$DAGSTER_PORT" \
  >"$REVLOOP_DATA_DIR/dagster.log" 2>&1 &
pids+=($!)
"$BIN/revloop" serve >"$REVLOOP_DATA_DIR/web.log" 2>&1 &
pids+=($!)

wait_for() {  # url, name, log
  for _ in $(seq 1 240); do
    if curl -fsS -o /dev/null "$1"; then echo "$2 is up: $1"; return 0; fi
    sleep 1
  done
  echo "$2 did not come up; see $3" >&2
  tail -30 "$3" >&2
  return 1
}
wait_for "http://127.0.0.1:$DAGSTER_PORT/server_info" "Dagster UI" "$REVLOOP_DATA_DIR/dagster.log"
wait_for "http://127.0.0.1:$WEB_PORT/healthz" "revloop web app" "$REVLOOP_DATA_DIR/web.log"

echo "launching one loop ($FIRST_LOOP_DAYS demo days) — follow it in the Dagster UI..."
REVLOOP_DAGSTER_PORT="$DAGSTER_PORT" "$BIN/revloop" loop launch --days "$FIRST_LOOP_DAYS"
"$BIN/revloop" ledger verify

cat <<MSG

revloop is running (Ctrl-C stops it):
  Dagster UI      http://127.0.0.1:$DAGSTER_PORT
  Review UI       http://127.0.0.1:$WEB_PORT/review   (local login: demo-reviewer)
  Webhooks        POST http://127.0.0.1:$WEB_PORT/webhooks/demo?tenant=<tenant>
  Logs            $REVLOOP_DATA_DIR/dagster.log, $REVLOOP_DATA_DIR/web.log
The schedule demo_world_daily advances the world, new_exports_sensor runs the loop per tenant and new day;
approvals trigger the executors.
MSG
wait
