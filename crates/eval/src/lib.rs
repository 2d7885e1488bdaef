//! Evaluation of Grimoire's training runs.
#![warn(missing_docs)]

pub mod classifier;
pub mod error;
pub mod loss;
pub mod style;
pub mod text;

pub use classifier::{ClassifierOptions, ClassifierReport, PersonaClassifier};
pub use error::{Error, Result};
pub use text::{Line, lines_from_analysis, normalise, same_person, words};
