//! What the core test files share.

use std::path::PathBuf;

/// The folder of the built-in model installed by the set-up (`scripts/setup.sh`), as tests find it:
/// `GRIMOIRE_MODEL_PATH`, or the user's data folder. Fails, never skips, when it is missing.
pub fn builtin_model_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".local/share"));
    let path =
        std::env::var_os("GRIMOIRE_MODEL_PATH").map(PathBuf::from).unwrap_or_else(|| data.join("grimoire/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(path.exists(), "{} is missing: run scripts/setup.sh to install the built-in model", path.display());
    path.parent().expect("a file has a folder").to_path_buf()
}
