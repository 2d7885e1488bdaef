//! Token counting. The real tokenizer belongs to the model runtime; this crate only needs a count, so
//! it asks through [`TokenCounter`] and ships a crude default.

/// Counts the tokens of a text the way the model to be trained would.
pub trait TokenCounter: Send + Sync {
    /// How many tokens `text` becomes.
    fn count(&self, text: &str) -> u32;
}

/// A stand-in for a real tokenizer: one token per whitespace-separated word. It under-counts BPE
/// tokens (roughly 1.3 per English word) but orders examples by length correctly, which is what flags
/// and the histogram need until a model is chosen.
#[derive(Debug, Clone, Copy, Default)]
pub struct WhitespaceCounter;

impl TokenCounter for WhitespaceCounter {
    fn count(&self, text: &str) -> u32 {
        u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX)
    }
}

impl<F: Fn(&str) -> u32 + Send + Sync> TokenCounter for F {
    fn count(&self, text: &str) -> u32 {
        self(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_counter_counts_words_and_closures_plug_in() {
        assert_eq!(WhitespaceCounter.count("  It is a truth\nuniversally  "), 5);
        assert_eq!(WhitespaceCounter.count(""), 0);
        let chars = |t: &str| t.len() as u32;
        assert_eq!(TokenCounter::count(&chars, "abc"), 3);
    }
}
