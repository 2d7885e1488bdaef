//! Evaluation of Grimoire's training runs (issue 8): a report per run, as JSON and plots.
//!
//! - [`loss`]: validation loss and perplexity of the base model, the tuned adapter and a control
//!   adapter (trained the same way on the other characters' lines of the same books), with the
//!   training crate's own assistant-only loss.
//! - [`classifier`]: a persona classifier trained on the books' dialogue (the persona's lines
//!   against everybody else's), which scores each model's replies to the held-out prompts.
//! - [`style`]: length, vocabulary overlap and signature words (log-odds with a prior).
//! - [`report`]: [`evaluate`] runs all of it on a run folder and writes `<run>/eval/` (
//!   `report.json`, font-free PNG plots), comparing the project's evaluated runs.
//! - [`judge`]: optionally, a teacher model grades each reply 1–7 ([`Judge`]), marked as such.
#![warn(missing_docs)]

pub mod classifier;
pub mod error;
pub mod judge;
pub mod loss;
pub mod plot;
pub mod report;
pub mod style;
pub mod text;

pub use classifier::{ClassifierOptions, ClassifierReport, PersonaClassifier};
pub use error::{Error, Result};
pub use loss::{LossFigures, validation_loss};
pub use report::{
    CONTROL_MARKER, ControlInfo, EVAL_DIR, EvalOptions, EvalReport, EvalRequest, Losses,
    ModelKind, ModelStyle, PersonaScore, PlotFile, RunComparison, Sample, evaluate, find_control,
    read_report, recorded_base_model, write_report,
};
pub use judge::{
    Judge, JudgeItem, JudgeMean, JudgeReport, JudgeScore, JudgedReply, judge_samples, parse_grades,
};
pub use style::{SignatureWord, StyleFigures, signature_words, style_figures};
pub use text::{Line, lines_from_analysis, normalise, same_person, words};
