//! Shared fixtures: the sample book analysed once, and the built-in model.

use std::path::PathBuf;
use std::sync::OnceLock;

use grimoire_eval::{Line, lines_from_analysis};

/// The persona of the sample book.
pub const PERSONA: &str = "Elizabeth Bennet";

/// Pride and Prejudice's speech lines with their speakers.
pub fn sample_lines() -> &'static [Line] {
    static L: OnceLock<Vec<Line>> = OnceLock::new();
    L.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets/sample/PrideAndPrejudice.txt");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let analysis = grimoire_corpus::analyze_bytes(&bytes).expect("analyse the sample book");
        lines_from_analysis(&analysis)
    })
}

/// The built-in model file; fails with the install hint when it is absent.
#[allow(dead_code)]
pub fn model_path() -> PathBuf {
    let path = grimoire_llm::built_in_model_path().expect("no data directory on this system");
    assert!(
        path.exists(),
        "the built-in model is missing at {}: run scripts/setup.sh to install the built-in model",
        path.display()
    );
    path
}
