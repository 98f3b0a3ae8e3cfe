#!/usr/bin/env bash
# Install the pinned Prism mock server (tools/prism/package-lock.json) into tools/prism/node_modules
# and print the path of its executable. Re-runs `npm ci` only when the lock file changed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tools/prism"
bin="$dir/node_modules/.bin/prism"
stamp="$dir/node_modules/.revloop-lock-sha256"

if ! command -v npm >/dev/null 2>&1; then
    echo "ensure_prism: npm not found; install Node.js 20+ (with npm) to run the Pinecone contract tests" >&2
    exit 1
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$bin"
    exit 0
fi

# --ignore-scripts: Prism needs no install scripts, and one dependency's postinstall only phones home.
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2
"$bin" --version >/dev/null
echo "$want" > "$stamp"
echo "$bin"
