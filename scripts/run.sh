#!/usr/bin/env bash
# Sets Grimoire up (when needed), builds it and opens it with the sample project.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
say "building the app"
cargo build -p grimoire-app
app="$CARGO_TARGET_DIR/debug/grimoire-app"
say "starting Grimoire"
if [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  # No desktop (a server, CI): a virtual display keeps the app runnable.
  exec xvfb-run -a "$app" --sample "$@"
fi
exec "$app" --sample "$@"
