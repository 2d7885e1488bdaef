use grimoire_train::{ModelFacts, TrainConfig, keep_activations_if_they_fit};

use crate::common;

/// Activations are kept (no recomputation) only when the worst case fits in the budget; the
/// estimate's own figures decide where that line is.
#[test]
fn activations_are_kept_only_when_the_worst_case_fits_the_memory_budget() {
    let facts = ModelFacts::read(&common::model_path()).expect("facts");
    let config = TrainConfig {
        batch_size: 4,
        max_seq_len: 256,
        ..TrainConfig::default()
    };
    assert!(config.activation_checkpointing);
    let roomy = keep_activations_if_they_fit(&facts, config.clone(), 16 << 30);
    assert!(!roomy.activation_checkpointing, "16 GB is plenty for SmolLM2 at 4 × 256");
    assert_eq!(
        TrainConfig {
            activation_checkpointing: true,
            ..roomy.clone()
        },
        config,
        "nothing else changes"
    );
    let tight = keep_activations_if_they_fit(&facts, config.clone(), 1 << 30);
    assert!(tight.activation_checkpointing, "1 GB is not enough to keep them");
    // Longer sequences need more: what fits at 256 tokens does not at 2048.
    let long = TrainConfig {
        max_seq_len: 2048,
        ..config.clone()
    };
    assert!(keep_activations_if_they_fit(&facts, long, 4 << 30).activation_checkpointing);
    // Already off stays off, whatever the budget.
    let off = TrainConfig {
        activation_checkpointing: false,
        ..config
    };
    assert!(!keep_activations_if_they_fit(&facts, off, 0).activation_checkpointing);
}
