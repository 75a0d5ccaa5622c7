# shellcheck shell=bash
# Starts and stops a local moto server for the contract tests. Sourced by scripts/test.
#
#   moto_start   venv at <repo>/.venv (created if missing), moto[server] + boto3 installed,
#                server on 127.0.0.1:<free port>, seeded; exports SHIFTER_MOTO_ENDPOINT
#                and dummy AWS_* credentials/region (not AWS_ENDPOINT_URL: callers choose).
#   moto_stop    stops the server moto_start started (by its pid), nothing else.
#
# Needs only python3 (3.11+) with pip and PyPI; no Docker, no AWS account.

MOTO_VERSION="5.2.5"
_MOTO_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_MOTO_REPO_ROOT="$(cd "$_MOTO_LIB_DIR/../.." && pwd)"
MOTO_VENV="${MOTO_VENV:-$_MOTO_REPO_ROOT/.venv}"
MOTO_LOG="${MOTO_LOG:-$_MOTO_REPO_ROOT/target/moto-server.log}"
MOTO_PID=""

_moto_say() { echo "moto: $*" >&2; }

_moto_venv() {
  local py="$MOTO_VENV/bin/python"
  if [[ ! -x "$py" ]]; then
    _moto_say "creating $MOTO_VENV"
    python3 -m venv "$MOTO_VENV" || return 1
  fi
  if ! "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null \
     || ! "$py" -c "import boto3, flask_cors" 2>/dev/null; then
    _moto_say "installing moto[server]==$MOTO_VERSION and boto3"
    "$py" -m pip install --quiet "moto[server]==$MOTO_VERSION" boto3 || return 1
  fi
}

_moto_free_port() {
  "$MOTO_VENV/bin/python" - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

moto_start() {
  _moto_venv || { _moto_say "could not set up the venv"; return 1; }
  local port
  port="$(_moto_free_port)" || return 1
  mkdir -p "$(dirname "$MOTO_LOG")"
  "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  local endpoint="http://127.0.0.1:$port"
  local i
  for i in $(seq 1 100); do
    if "$MOTO_VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/', timeout=1)" 2>/dev/null; then
      break
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      _moto_say "server exited; see $MOTO_LOG"; MOTO_PID=""; return 1
    fi
    sleep 0.1
    if [[ $i -eq 100 ]]; then _moto_say "server did not answer on $endpoint"; moto_stop; return 1; fi
  done

  export SHIFTER_MOTO_ENDPOINT="$endpoint"
  export AWS_ACCESS_KEY_ID="testing"
  export AWS_SECRET_ACCESS_KEY="testing"
  export AWS_SESSION_TOKEN="testing"
  export AWS_REGION="us-east-1"
  export AWS_DEFAULT_REGION="us-east-1"
  # Keep the SDK away from ~/.aws and the EC2 metadata endpoint.
  export AWS_CONFIG_FILE="/dev/null"
  export AWS_SHARED_CREDENTIALS_FILE="/dev/null"
  export AWS_EC2_METADATA_DISABLED="true"

  "$MOTO_VENV/bin/python" "$_MOTO_LIB_DIR/seed_moto.py" "$endpoint" || { _moto_say "seeding failed"; moto_stop; return 1; }
  _moto_say "server pid $MOTO_PID on $endpoint (log: $MOTO_LOG)"
}

moto_stop() {
  if [[ -n "$MOTO_PID" ]]; then
    kill "$MOTO_PID" 2>/dev/null
    wait "$MOTO_PID" 2>/dev/null
    _moto_say "server pid $MOTO_PID stopped"
    MOTO_PID=""
  fi
  unset SHIFTER_MOTO_ENDPOINT
}
