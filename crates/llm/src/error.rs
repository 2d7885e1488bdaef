//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading or running a model.
///
/// Errors about a file name the file, so a person can tell which download or folder is bad.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A GGUF or safetensors file is truncated or corrupt.
    #[error("{}: corrupt or truncated model file: {problem}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The model's architecture is not one this runtime implements.
    #[error("{}: unsupported architecture `{architecture}` (supported: llama, mistral)", path.display())]
    UnknownArchitecture {
        /// The model file or folder.
        path: PathBuf,
        /// The architecture the file declares.
        architecture: String,
    },
    /// Metadata or configuration is missing or inconsistent.
    #[error("{}: invalid model configuration: {problem}", path.display())]
    Config {
        /// The model file or folder.
        path: PathBuf,
        /// What is missing or inconsistent.
        problem: String,
    },
    /// A JSON file (config.json, tokenizer.json, adapter_config.json...) could not be parsed.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The tokenizer could not be built, or does not fit the model.
    #[error("{}: tokenizer: {problem}", path.display())]
    Tokenizer {
        /// The model file or tokenizer.json.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Encoding or decoding text failed inside the tokenizers library.
    #[error("tokenizer: {0}")]
    Tokenize(#[source] tokenizers::Error),
    /// The chat template could not be compiled or rendered.
    #[error("chat template: {0:#}")]
    Template(#[from] minijinja::Error),
    /// A LoRA adapter does not fit the base model.
    #[error("{}: adapter does not fit this model: {problem}", path.display())]
    AdapterMismatch {
        /// The adapter folder or file.
        path: PathBuf,
        /// Which tensor or setting does not fit.
        problem: String,
    },
    /// The prompt alone is longer than the model's context.
    #[error("the prompt has {tokens} tokens, more than the context of {context}")]
    ContextOverflow {
        /// Prompt length in tokens.
        tokens: usize,
        /// The context length in use.
        context: usize,
    },
    /// A request to the engine was made after it stopped.
    #[error("the model engine has stopped")]
    EngineStopped,
    /// Downloading from the Hugging Face hub failed.
    #[error("download of {repo}/{file}: {source}")]
    Download {
        /// The repository id.
        repo: String,
        /// The file in it (empty for the repository listing).
        file: String,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A tensor operation failed.
    #[error("tensor operation: {0}")]
    Candle(#[from] candle_core::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
