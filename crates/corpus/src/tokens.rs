//! A small word tokenizer with byte spans, shared by character discovery and attribution.

use crate::book::Span;

/// A word or a punctuation mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub span: Span,
    /// True for words (letters, digits, inner apostrophes and hyphens); false for punctuation.
    pub word: bool,
    /// True when a sentence can start here (after . ! ? or a quote mark or at the start).
    pub sentence_start: bool,
}

/// Splits `text[range]` into tokens. A title's period stays with it ("Mr.").
pub(crate) fn tokenize(text: &str, range: Span, out: &mut Vec<Token>) {
    let s = &text[range.start..range.end];
    let b = s.as_bytes();
    let mut sentence_start = true;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c.is_alphanumeric() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if n.is_alphanumeric() {
                    end = j + n.len_utf8();
                    chars.next();
                } else if matches!(n, '\'' | '’' | '-') {
                    // inner apostrophe or hyphen: keep when a letter follows
                    let after = s[j + n.len_utf8()..].chars().next();
                    if after.is_some_and(char::is_alphanumeric) {
                        chars.next();
                        end = j + n.len_utf8();
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            let w = &s[i..end];
            if b.get(end) == Some(&b'.') && crate::lexicon::is_title(w) && w.len() <= 4 {
                chars.next();
                end += 1;
            }
            out.push(Token { span: Span::new(range.start + i, range.start + end), word: true, sentence_start });
            sentence_start = false;
        } else {
            out.push(Token { span: Span::new(range.start + i, range.start + i + c.len_utf8()), word: false, sentence_start });
            if matches!(c, '.' | '!' | '?' | '“' | '"' | '‘' | '—' | ':' | ';') {
                sentence_start = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_titles_and_apostrophes() {
        let t = "Mr. Darcy didn't go. She—";
        let mut v = Vec::new();
        tokenize(t, Span::new(0, t.len()), &mut v);
        let words: Vec<&str> = v.iter().map(|k| &t[k.span.start..k.span.end]).collect();
        assert_eq!(words, ["Mr.", "Darcy", "didn't", "go", ".", "She", "—"]);
        assert!(v[0].sentence_start && !v[1].sentence_start && v[5].sentence_start);
    }
}
