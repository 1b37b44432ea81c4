#!/usr/bin/env bash
# Creates (once) the Python venv of test peers under ~/.cache/authcore and prints its python path.
# Re-installs only when scripts/requirements-test.txt changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${AUTHCORE_CACHE:-$HOME/.cache/authcore}
venv=$cache/venv
requirements=$root/scripts/requirements-test.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$cache"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  echo "$want" >"$stamp"
fi
echo "$venv/bin/python"
