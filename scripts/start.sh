#!/usr/bin/env bash
# Quick start: installs what is missing, then runs edgecam on config.toml and prints the viewer URL.
# Extra arguments go to edgecam (--config, --listen, --log-level).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$ROOT/.tools/node_modules/.bin/deno" task --quiet start "$@"
