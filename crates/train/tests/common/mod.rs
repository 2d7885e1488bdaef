//! Shared fixtures: the built-in model, loaded once, and the reference files (the same lookup as
//! grimoire-llm's tests).

use std::path::PathBuf;
use std::sync::OnceLock;

use grimoire_llm::{LoadOptions, Model, WeightFormat, built_in_model_path};

/// The built-in model file; fails with the install hint when it is absent.
pub fn model_path() -> PathBuf {
    let path = built_in_model_path().expect("no data directory on this system");
    assert!(
        path.exists(),
        "the built-in model is missing at {}: run scripts/setup.sh to install the built-in model",
        path.display()
    );
    path
}

/// `shared/reference/smollm2`, beside the repository (or `$GRIMOIRE_REFERENCE_DIR`).
pub fn reference_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("GRIMOIRE_REFERENCE_DIR") {
        return PathBuf::from(p);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/smollm2");
    assert!(
        dir.exists(),
        "reference outputs missing at {}",
        dir.display()
    );
    dir
}

/// A reference JSON file.
pub fn reference(name: &str) -> serde_json::Value {
    let path = reference_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The built-in model with its Q4_1 blocks as stored (what training keeps in memory).
pub fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let opts = LoadOptions {
            format: WeightFormat::AsStored,
            max_context: 2048,
            ..LoadOptions::default()
        };
        Model::load(&model_path(), &opts).unwrap_or_else(|e| panic!("{e:#}"))
    })
}

/// Ids of a JSON array.
pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}
