# shellcheck shell=bash
# The Python the start-up harness (bench/startup.py) runs on. Sourced by scripts/bench and
# scripts/test.
#
#   bench_python   venv at <repo>/.tools/bench (created if missing) with boto3 and awslambdaric
#                  (the runtime interface client that runs the Python twins); prints its python.
#
# Needs only python3 with pip and PyPI (awslambdaric ships manylinux wheels); no AWS account.

_BENCH_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_VENV="${BENCH_VENV:-$_BENCH_REPO_ROOT/.tools/bench}"

bench_python() {
  local py="$BENCH_VENV/bin/python"
  if ! "$py" -c "import boto3, awslambdaric" 2>/dev/null; then
    echo "bench: installing boto3 and awslambdaric into $BENCH_VENV" >&2
    python3 -m venv "$BENCH_VENV" || return 1
    "$py" -m pip install --quiet --disable-pip-version-check boto3 awslambdaric >&2 || return 1
  fi
  echo "$py"
}
