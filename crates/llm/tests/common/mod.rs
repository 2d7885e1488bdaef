//! Shared fixtures: the built-in model, loaded once per weight format, and the reference files.

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

fn load(format: WeightFormat) -> Model {
    let opts = LoadOptions {
        format,
        max_context: 2048,
        ..LoadOptions::default()
    };
    Model::load(&model_path(), &opts).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The model as shipped (Q4_1 blocks).
pub fn q4_1() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| load(WeightFormat::AsStored))
}

/// The model converted to Q8_0 at load. Generation tests use it: in the unoptimised test build,
/// candle's Q8_0 kernel (a dependency, built optimised) is faster than this crate's Q4_1 one.
pub fn q8_0() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| load(WeightFormat::Quantized(grimoire_llm::GgmlDType::Q8_0)))
}

/// The model dequantised to float32.
pub fn f32() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| load(WeightFormat::F32))
}

/// Ids of a JSON array.
pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

/// Messages of a JSON array.
pub fn messages(v: &serde_json::Value) -> Vec<grimoire_llm::Message> {
    serde_json::from_value(v.clone()).expect("messages")
}

/// Decodes `steps` greedy tokens after `prompt` twice, with two caches: one token at a time
/// through `forward_last` (the one-token fast path) and through `forward` (candle's tensor ops),
/// and checks that both choose the same token and their logits agree within `tolerance` at every
/// step. With real weights the tolerance is loose: both paths quantise each activation to Q8 blocks
/// for the quantised matmuls, so a last-bit difference in a norm or in attention can move one value
/// across a rounding boundary, and 30 layers carry that to a few tenths of a logit (measured
/// here: most steps equal to the bit, some 0.2–0.5 apart).
pub fn assert_decode_paths_agree(
    model: &Model,
    prompt: &[u32],
    steps: usize,
    adapter: Option<&grimoire_llm::LoraAdapter>,
    tolerance: f32,
) {
    use grimoire_llm::Cache;
    let llama = &model.llama;
    let (mut fast_cache, mut ops_cache) = (Cache::new(llama, 1), Cache::new(llama, 1));
    llama
        .forward_last(prompt, &mut fast_cache, adapter)
        .expect("prompt");
    let prompt_logits: Vec<f32> = llama
        .forward_last(prompt, &mut ops_cache, adapter)
        .expect("prompt")
        .to_vec1()
        .expect("logits");
    assert!(llama.one_token_path(&fast_cache, adapter));
    let mut next = grimoire_llm::sampling::argmax(&prompt_logits);
    for step in 0..steps {
        let fast: Vec<f32> = llama
            .forward_last(&[next], &mut fast_cache, adapter)
            .expect("fast step")
            .to_vec1()
            .expect("logits");
        let ops: Vec<f32> = llama
            .forward(&[next], &mut ops_cache, adapter)
            .expect("tensor step")
            .flatten_all()
            .expect("flatten")
            .to_vec1()
            .expect("logits");
        let diff = fast
            .iter()
            .zip(&ops)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            diff <= tolerance,
            "step {step}: the one-token path differs from the tensor path by {diff}"
        );
        next = grimoire_llm::sampling::argmax(&ops);
        assert_eq!(grimoire_llm::sampling::argmax(&fast), next, "step {step}");
    }
    assert_eq!(fast_cache.len(), ops_cache.len());
}
