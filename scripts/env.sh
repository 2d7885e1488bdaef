# Shared by the set-up, run and test scripts: where things go. Sourced, not run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Builds live outside the clone so that a fresh clone (CI) reuses them and builds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grimoire/target}"
export PATH="$HOME/.cargo/bin:$PATH"
GRIMOIRE_DATA_HOME="${GRIMOIRE_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/grimoire}"
export GRIMOIRE_DOWNLOADS="${GRIMOIRE_DOWNLOADS:-$HOME/.cache/grimoire/downloads}"
say() { printf '\033[1;35m==>\033[0m %s\n' "$*"; }
