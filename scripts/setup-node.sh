#!/usr/bin/env bash
# Installs (once) the node test peers of scripts/node/package-lock.json under ~/.cache/authcore/node
# and prints the node_modules directory (set NODE_PATH to it). Re-installs only when the lock changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${AUTHCORE_CACHE:-$HOME/.cache/authcore}
dir=$cache/node
lock=$root/scripts/node/package-lock.json
stamp=$dir/.lock.sha256
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ ! -d "$dir/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$dir"
  cp "$root/scripts/node/package.json" "$lock" "$dir/"
  (cd "$dir" && npm ci --silent --no-audit --no-fund >&2)
  echo "$want" >"$stamp"
fi
echo "$dir/node_modules"
