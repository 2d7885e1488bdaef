//! The one error type of this crate.

/// Everything that can go wrong while importing a book.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorpusError {
    /// The input holds no text at all.
    #[error("the file is empty")]
    Empty,
    /// The input is larger than the import limit.
    #[error("the file is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Size of the input in bytes.
        size: u64,
        /// The limit that was exceeded.
        limit: u64,
    },
    /// The bytes do not look like text (NUL bytes, control characters).
    #[error("the file looks binary, not text")]
    Binary,
    /// The file type could not be recognised.
    #[error("unrecognised file format")]
    UnknownFormat,
    /// The EPUB container is not a readable zip archive.
    #[error("the EPUB is not a readable zip archive")]
    Zip(#[from] zip::result::ZipError),
    /// An I/O error while reading an archive member.
    #[error("reading {entry} failed")]
    Io {
        /// The archive entry being read.
        entry: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An archive entry escapes the archive root or is otherwise unsafe.
    #[error("unsafe path in archive: {0:?}")]
    UnsafePath(String),
    /// Decompressed data exceeded the bound (a zip bomb or simply too large).
    #[error("decompressed content exceeds the {limit}-byte limit")]
    DecompressionLimit {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// A file the EPUB requires is missing.
    #[error("the EPUB lacks {0}")]
    MissingEntry(String),
    /// The EPUB's XML (container or package document) cannot be parsed.
    #[error("malformed EPUB metadata in {entry}: {reason}")]
    BadPackage {
        /// The entry that failed.
        entry: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// The EPUB package has an empty or missing spine.
    #[error("the EPUB has no spine (no reading order)")]
    NoSpine,
    /// A content document is not valid UTF-8 / readable XHTML.
    #[error("content document {0} is not readable XHTML")]
    BrokenContent(String),
    /// An EPUB file declares XML entities (none needs to; nested ones are a memory bomb).
    #[error("{0} in the EPUB declares XML entities, which Grimoire does not expand")]
    EntityDeclarations(String),
    /// The imported book contained no readable paragraphs.
    #[error("no text found in the book")]
    NoText,
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, CorpusError>;
