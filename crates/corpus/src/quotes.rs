//! Quotation detection: double and single quote styles (straight and curly), apostrophes in
//! British single-quote dialogue, nested quotes, speeches running over several paragraphs, dash
//! dialogue, and marking of text that is quoted but not spoken (letters, scare quotes, thoughts,
//! inscriptions, captions, epigraphs and verse).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::book::{Book, Span};

/// What a quotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum QuoteRole {
    /// Words spoken by a character.
    Speech,
    /// Text of a letter or note quoted in full.
    Letter,
    /// A short quoted term inside narration: a name, a title, a scare quote.
    ScareQuote,
    /// Words a character thinks, not says: “‘Well!’ thought Alice”.
    Thought,
    /// Written words cited, not spoken: an inscription, a note read out, an illustration's
    /// caption, a chapter's epigraph, quoted verse.
    Citation,
}

impl QuoteRole {
    /// Words of a character, said or thought: what is listed and attributed.
    pub fn is_voiced(self) -> bool {
        matches!(self, QuoteRole::Speech | QuoteRole::Thought)
    }
}

/// One quotation segment. A speech interrupted by narration gives one segment per part, and a
/// speech over several paragraphs one segment per paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// From the opening mark through the closing mark (or the paragraph's end when unclosed).
    pub span: Span,
    /// The words alone: marks and surrounding whitespace removed.
    pub inner: Span,
    /// Index of the paragraph the segment starts in.
    pub paragraph: usize,
    /// True when this segment continues the previous segment's speech from an earlier paragraph.
    pub continued: bool,
    /// True when the segment had no closing mark (a speech that goes on in the next paragraph).
    pub unclosed: bool,
    /// Speech, letter or scare quote.
    pub role: QuoteRole,
}

/// The dialogue convention a book uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum QuoteStyle {
    /// “…” or "…"; single quotes are nested quotations.
    Double,
    /// ‘…’ or '…' (British); double quotes are nested quotations.
    Single,
    /// Paragraphs opened by a dash (— or --), as in Joyce.
    Dash,
}

fn is_double(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '«' | '»')
}

fn is_single(c: char) -> bool {
    matches!(c, '\'' | '‘' | '’' | '`')
}

/// Characters after which a mark starts a word.
fn is_open_context(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c.is_whitespace() || matches!(c, '(' | '[' | '—' | '–' | '-' | '“' | '"' | ':' | '_' | '«'),
    }
}

const ELISIONS: [&str; 24] = [
    "s", "ll", "re", "ve", "d", "m", "t", "em", "tis", "twas", "twere", "twill", "twould", "cause", "n", "round", "til",
    "un", "ee", "ow", "appen", "im", "e", "er",
];

/// True when the text after an apostrophe is a known elided word ('em, 'tis, tokenized 's).
fn elision_follows(rest: &str) -> bool {
    let word: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
    if word.is_empty() {
        return rest.chars().next().is_some_and(|c| c.is_ascii_digit());
    }
    let lower = word.to_lowercase();
    ELISIONS.contains(&lower.as_str())
}

/// Picks the book's dialogue convention by counting marks.
pub fn detect_style(book: &Book) -> QuoteStyle {
    let text = book.slice(book.body);
    let mut doubles = 0usize;
    let mut singles = 0usize;
    let mut prev: Option<char> = None;
    let it = text.char_indices().peekable();
    for (i, c) in it {
        if is_double(c) {
            doubles += 1;
        } else if (c == '‘' || (c == '\'' || c == '`') && is_open_context(prev))
            && !elision_follows(text[i + c.len_utf8()..].trim_start_matches(' ')) {
                singles += 1;
            }
        prev = Some(c);
    }
    let dashes = book.paragraphs.iter().filter(|p| dash_start(book.slice(p.span)).is_some()).count();
    // Dash dialogue opens a fair share of the paragraphs; a few dashes opening lines of narration
    // (“-- Fatal image!”) are punctuation.
    if dashes > 3 && dashes > (doubles + singles) / 2 && dashes * 12 >= book.paragraphs.len() {
        QuoteStyle::Dash
    } else if singles >= 2 && singles > doubles * 2 {
        QuoteStyle::Single
    } else {
        QuoteStyle::Double
    }
}

/// Finds every quotation in the book.
pub fn find_quotes(book: &Book) -> Vec<Quote> {
    let style = detect_style(book);
    let mut out = if style == QuoteStyle::Dash { dash_quotes(book) } else { mark_quotes(book, style) };
    split_stage_directions(book, &mut out);
    classify(book, &mut out);
    if style != QuoteStyle::Dash {
        let italic = italic_speech(book, &out);
        if !italic.is_empty() {
            out.extend(italic);
            out.sort_by_key(|q| q.span.start);
        }
    }
    out
}

/// Narration in brackets inside a speech, “Lizzy! Georgy! (calling to his sisters) Joan is not
/// here”, is no part of it: the speech becomes two segments around it. Only a stage direction: a
/// few words opening with a lowercase "-ing" verb.
fn split_stage_directions(book: &Book, quotes: &mut Vec<Quote>) {
    let text = &book.text;
    let mut out = Vec::with_capacity(quotes.len());
    for q in quotes.drain(..) {
        let inner = &text[q.inner.start..q.inner.end];
        let cut = inner.find('(').and_then(|open| {
            let close = open + inner[open..].find(')')?;
            let words: Vec<&str> = inner[open + 1..close].split_whitespace().collect();
            let first = words.first()?;
            let direction = words.len() <= 12 && first.ends_with("ing") && first.starts_with(char::is_lowercase) && first.chars().all(char::is_alphabetic);
            let before = inner[..open].trim_end();
            let after = inner[close + 1..].trim_start();
            (direction && !before.is_empty() && !after.is_empty()).then_some((q.inner.start + before.len(), q.inner.end - after.len()))
        });
        let Some((end_first, start_second)) = cut else {
            out.push(q);
            continue;
        };
        let paragraph = book.paragraphs.partition_point(|p| p.span.end <= start_second).min(book.paragraphs.len().saturating_sub(1));
        out.push(Quote { span: Span::new(q.span.start, end_first), inner: Span::new(q.inner.start, end_first), unclosed: false, ..q });
        out.push(Quote { span: Span::new(start_second, q.span.end), inner: Span::new(start_second, q.inner.end), paragraph, continued: false, ..q });
    }
    *quotes = out;
}

/// Words set in italics instead of quotation marks, right after a verb of speaking: "he cried
/// out in a shrill but distinct voice, _Hekinah degul_", "cry aloud _Tolgo phonac_" (Project
/// Gutenberg marks italics with underscores). Two words at least, so that a stressed word ("he
/// cried _very_ loudly") is not taken, ending the phrase, and outside any quotation.
fn italic_speech(book: &Book, quotes: &[Quote]) -> Vec<Quote> {
    const SPEAKING: &[&str] = &[
        "said", "say", "says", "cried", "cry", "cries", "crying", "shouted", "shouting", "shout", "called", "calling", "exclaimed", "repeated",
        "repeating", "whispered", "muttered", "roared", "screamed", "answered", "replied",
    ];
    let text = &book.text;
    let mut out = Vec::new();
    for (pi, para) in book.paragraphs.iter().enumerate() {
        let p = &text[para.span.start..para.span.end];
        if !p.contains('_') {
            continue;
        }
        let mut from = 0;
        while let Some(k) = p[from..].find('_').map(|k| from + k) {
            from = k + 1;
            if p[..k].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some(close) = p[k + 1..].find('_').map(|e| k + 1 + e) else { break };
            let words = p[k + 1..close].trim();
            let after = &p[close + 1..];
            if after.starts_with(|c: char| c.is_alphanumeric()) {
                continue;
            }
            from = close + 1;
            let n = words.split_whitespace().count();
            let next = after.trim_start().chars().next();
            let ends_phrase = next.is_none_or(|c| matches!(c, ',' | ';' | ':' | '.' | '!' | '?' | '(' | '—' | '-'));
            let span = Span::new(para.span.start + k, para.span.start + close + 1);
            if !(2..=8).contains(&n) || !ends_phrase || words.contains(['“', '"', '‘']) || quotes.iter().any(|q| q.span.overlaps(&span)) {
                continue;
            }
            // The clause before: back to a sentence's end, a semicolon or a bracket.
            let before = p[..k].trim_end();
            let clause_start = before.rfind(['.', '!', '?', ';', '(', ')']).map_or(0, |i| i + 1);
            let clause: Vec<String> = lower_words(&before[clause_start..]).collect();
            let last = clause.last().map_or("", String::as_str);
            let speaks = clause.iter().rposition(|w| SPEAKING.contains(&w.as_str()));
            let indirect = speaks.is_some_and(|v| clause[v + 1..].iter().any(|w| w == "that"));
            let right_after = before.ends_with([',', ':']) || SPEAKING.contains(&last) || matches!(last, "aloud" | "out" | "of");
            if speaks.is_none_or(|v| clause.len() - v > 10) || indirect || !right_after {
                continue;
            }
            let lead = p[k + 1..].len() - p[k + 1..].trim_start().len();
            let inner = Span::new(para.span.start + k + 1 + lead, para.span.start + k + 1 + lead + words.len());
            out.push(Quote { span, inner, paragraph: pi, continued: false, unclosed: false, role: QuoteRole::Speech });
        }
    }
    out
}

struct Open {
    start: usize,
    paragraph: usize,
    continued: bool,
    /// Curly single quotations opened inside this one and not yet closed (‘… ‘good-by’ …’).
    nested: usize,
}

fn mark_quotes(book: &Book, style: QuoteStyle) -> Vec<Quote> {
    let text = &book.text;
    let mut out: Vec<Quote> = Vec::new();
    let mut open: Option<Open> = None;
    let mut last_end = 0usize;
    let is_mark = |c: char| if style == QuoteStyle::Double { is_double(c) } else { is_single(c) };
    for (pi, para) in book.paragraphs.iter().enumerate() {
        let p = &text[para.span.start..para.span.end];
        let starts_with_mark = p.chars().next().is_some_and(|c| is_mark(c) && c != '’' && c != '”');
        if let Some(o) = open.take() {
            // An unclosed quotation ends at the paragraph break, unless the text is one line per
            // paragraph (or per sentence) and this line does not open a new quotation.
            // (A line that opens with a dash and a capital, such as an epigraph's "-- Shakespeare",
            // ends it too.)
            let dash_line = signature_line(p);
            if book.line_paragraphs && !starts_with_mark && !dash_line {
                open = Some(o);
            } else {
                push(&mut out, text, o, last_end, true);
            }
        }
        let continued_from_unclosed = out.last().is_some_and(|q| q.unclosed && q.paragraph + 1 >= pi && open.is_none());
        let mut prev: Option<char> = None;
        let mut chars = p.char_indices().peekable();
        while let Some((ri, c)) = chars.next() {
            let i = para.span.start + ri;
            let next = chars.peek().map(|&(_, n)| n);
            let after = &p[ri + c.len_utf8()..];
            if is_mark(c) {
                match style {
                    QuoteStyle::Double => match (c, open.is_some()) {
                        // A straight mark that ends its paragraph opens nothing (`DRACULA."` with
                        // its opening mark lost), unless the next one opens with a nested quotation
                        // (`"` | `'Death,'" quoted Warwick`).
                        ('"', false) if after.trim().is_empty() && !book.paragraphs.get(pi + 1).is_some_and(|n| book.slice(n.span).starts_with(|c: char| is_single(c) || is_double(c))) => {}
                        ('“' | '„' | '«', false) | ('"', false) => {
                            open = Some(Open { start: i, paragraph: pi, continued: ri == 0 && continued_from_unclosed, nested: 0 })
                        }
                        ('”' | '»', true) | ('"', true) => {
                            if let Some(o) = open.take() {
                                push(&mut out, text, o, i + c.len_utf8(), false);
                            }
                        }
                        ('“' | '„' | '«', true) => {
                            // A new opening mark while open: the earlier one was never closed.
                            if let Some(o) = open.take() {
                                push(&mut out, text, o, trim_end_at(text, i), true);
                            }
                            open = Some(Open { start: i, paragraph: pi, continued: false, nested: 0 });
                        }
                        _ => {}
                    },
                    _ => single_mark(c, prev, next, after, i, pi, ri == 0 && continued_from_unclosed, text, &mut open, &mut out),
                }
            }
            prev = Some(c);
        }
        last_end = para.span.end;
    }
    if let Some(o) = open.take() {
        push(&mut out, text, o, last_end, true);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn single_mark(
    c: char,
    prev: Option<char>,
    next: Option<char>,
    after: &str,
    i: usize,
    pi: usize,
    continued: bool,
    text: &str,
    open: &mut Option<Open>,
    out: &mut Vec<Quote>,
) {
    let prev_word = prev.is_some_and(|p| p.is_alphanumeric());
    let next_word = next.is_some_and(|n| n.is_alphanumeric());
    if prev_word && next_word {
        return; // don't, o'clock
    }
    let standalone = is_open_context(prev) && next.is_none_or(char::is_whitespace);
    // A left mark inside an open quotation opens one nested in it (‘better to say ‘good-by’ than
    // ‘how do you do’’), and the right mark that follows closes that one, not the outer.
    if c == '‘' && is_open_context(prev) && !elision_follows(after.trim_start_matches(' '))
        && let Some(o) = open.as_mut()
    {
        o.nested += 1;
        return;
    }
    if c == '’' && !next_word
        && let Some(o) = open.as_mut().filter(|o| o.nested > 0)
    {
        o.nested -= 1;
        return;
    }
    if standalone {
        // Tokenized text: ' stands alone; a following clitic ('s) was ruled out above only when attached.
        if let Some(o) = open.take() {
            push(out, text, o, i + c.len_utf8(), false);
        } else if c != '’' && (!elision_follows(after.trim_start_matches(' ')) || after.trim_start_matches(' ').starts_with(|c: char| c.is_ascii_digit())) {
            // A right mark opens nothing: "the stairs ’ window" is a plural possessive.
            // A year is elided only when attached ('99); "the date ' 1500 , '" opens a quotation.
            *open = Some(Open { start: i, paragraph: pi, continued, nested: 0 });
        }
        return;
    }
    if is_open_context(prev) {
        if open.is_none() && c != '’' && !elision_follows(after) {
            *open = Some(Open { start: i, paragraph: pi, continued, nested: 0 });
        }
        return;
    }
    // After a word or punctuation: a closing mark, unless it is an apostrophe (boys', goin').
    let Some(o) = open.take() else { return };
    let after_punct = prev.is_some_and(|p| matches!(p, ',' | '.' | '!' | '?' | ';' | ':' | '—' | '-' | '…' | '–'));
    let lower_follows = after.trim_start().chars().next().is_some_and(char::is_lowercase);
    let possessive = !after_punct && matches!(prev, Some('s' | 'n')) && lower_follows && !after.trim_start().starts_with("said");
    if possessive {
        *open = Some(o);
    } else {
        push(out, text, o, i + c.len_utf8(), false);
    }
}

fn trim_end_at(text: &str, end: usize) -> usize {
    text[..end].trim_end().len()
}

fn push(out: &mut Vec<Quote>, text: &str, o: Open, end: usize, unclosed: bool) {
    let end = if unclosed { trim_end_at(text, end).max(o.start) } else { end };
    let raw = &text[o.start..end];
    let lead = raw.len() - raw.trim_start_matches(|c: char| is_double(c) || is_single(c) || c.is_whitespace() || matches!(c, '—' | '-' | '―')).len();
    let body = &raw[lead..];
    let inner_len = body.trim_end_matches(|c: char| is_double(c) || c == '’' || c == '\'' || c.is_whitespace()).len();
    let inner = Span::new(o.start + lead, o.start + lead + inner_len);
    if inner.is_empty() {
        return;
    }
    out.push(Quote {
        span: Span::new(o.start, end),
        inner,
        paragraph: o.paragraph,
        continued: o.continued,
        unclosed,
        role: QuoteRole::Speech,
    });
}

fn dash_quotes(book: &Book) -> Vec<Quote> {
    let mut out = Vec::new();
    // Words the book capitalises after a lower-case word: names ("peered at Stephen").
    let mut names: HashSet<&str> = HashSet::new();
    let mut prev_lower = false;
    for w in book.text.split_whitespace() {
        let bare = w.trim_matches(|c: char| !c.is_alphabetic());
        if prev_lower && bare.starts_with(char::is_uppercase) && bare.len() > 1 && bare != "I" {
            names.insert(bare);
        }
        prev_lower = w.starts_with(char::is_lowercase);
    }
    // One sentence per line: lines that go on with the speech after its tag.
    let mut goes_on = false;
    let mut run_of: Option<usize> = None;
    for (pi, para) in book.paragraphs.iter().enumerate() {
        let whole = book.slice(para.span);
        if book.line_paragraphs {
            let first = whole.split_whitespace().next().unwrap_or("");
            let tag_line = first.starts_with(char::is_lowercase) && whole.split_whitespace().take(3).any(crate::lexicon::is_speech_verb);
            if dash_start(whole).is_none() {
                if tag_line {
                    goes_on = out.last().is_some_and(|q: &Quote| q.paragraph + 1 == pi);
                    continue;
                }
                if goes_on && speech_goes_on(whole, &names) {
                    let end = para.span.start + whole.trim_end().len();
                    // Lines of one speech are one quotation, as a paragraph would have been.
                    match out.last_mut().filter(|_| run_of.is_some_and(|r| r + 1 == pi)) {
                        Some(q) => {
                            q.span.end = end;
                            q.inner.end = end;
                        }
                        None => push(&mut out, &book.text, Open { start: para.span.start, paragraph: pi, continued: false, nested: 0 }, end, false),
                    }
                    run_of = Some(pi);
                    continue;
                }
                goes_on = false;
                continue;
            }
            goes_on = false;
        }
        let Some(d) = dash_start(whole) else { continue };
        let p = &whole[d..];
        let para_start = para.span.start + d;
        // The speech runs to the end, or to the punctuation before an inserted "he said" or
        // "Stephen said quietly" (a name only after a comma, ! or ?: after a full stop a capital
        // opens the speech's next sentence).
        let mut end = p.len();
        let mut resume = None;
        for (i, c) in p.char_indices() {
            if i > 2 && matches!(c, ',' | '.' | '!' | '?') {
                let rest = &p[i + 1..];
                let words: Vec<&str> = rest.split_whitespace().take(3).collect();
                let first_lower = words.first().is_some_and(|w| w.chars().next().is_some_and(char::is_lowercase));
                let verb = words.iter().position(|w| crate::lexicon::is_speech_verb(w));
                // A name: capitalised words with nothing between them ("Mulligan, Stephen said"
                // is a vocative, then the tag).
                let first_name = c != '.'
                    && verb.is_some_and(|k| {
                        k > 0 && words[..k].iter().all(|w| w.chars().next().is_some_and(char::is_uppercase) && !w.ends_with([',', ';', ':', '!', '?']))
                    });
                if verb.is_some() && (first_lower || first_name) {
                    end = i + 1;
                    resume = tag_end(rest).map(|r| i + 1 + r);
                    break;
                }
            }
        }
        let o = Open { start: para_start, paragraph: pi, continued: false, nested: 0 };
        push(&mut out, &book.text, o, para_start + end, false);
        // "— The mockery of it! he said gaily. Your absurd name, an ancient Greek!": after the
        // tag the paragraph goes on speaking, unless a pronoun opens narration ("He turned.").
        if book.line_paragraphs && end < p.len() && resume.is_none() {
            // "— The aunt thinks you killed your mother, he said." | "That's why she won't …"
            goes_on = true;
        }
        if let Some(r) = resume {
            let after = &p[r..];
            let first = after.split_whitespace().next().unwrap_or("").to_lowercase();
            let narration = crate::lexicon::pronoun_gender(&first).is_some() || matches!(first.as_str(), "i" | "they" | "it" | "then" | "and");
            if !after.trim().is_empty() && !narration {
                let start = para_start + r + (after.len() - after.trim_start().len());
                push(&mut out, &book.text, Open { start, paragraph: pi, continued: false, nested: 0 }, para_start + p.trim_end().len(), false);
            }
        }
    }
    out
}

/// Where the speech tag at the start of `rest` ends: after the full stop (or ! ?) that closes
/// its sentence, when more follows in the paragraph.
fn tag_end(rest: &str) -> Option<usize> {
    let i = rest.char_indices().find(|&(i, c)| {
        matches!(c, '!' | '?')
            || c == '.' && !matches!(rest[..i].rsplit(|c: char| !c.is_alphabetic()).next(), Some("Mr" | "Mrs" | "Ms" | "Dr" | "St" | "Messrs"))
    })?.0;
    let after = &rest[i + 1..];
    (!after.trim().is_empty()).then_some(i + 1)
}

/// After a dash speech and its tag, one sentence per line: whether this line is more of the
/// speech. Narration opens with a pronoun or a name, or tells of speaking.
fn speech_goes_on(line: &str, names: &HashSet<&str>) -> bool {
    let t = line.trim();
    let words: Vec<&str> = t.split(|c: char| !c.is_alphabetic() && c != '\'' && c != '’').filter(|w| !w.is_empty()).collect();
    let Some(first) = words.first() else { return false };
    let lower = first.to_lowercase();
    // "Stephen bent forward": a name opens narration; "Stephen, come here" calls him.
    let named = names.contains(first) && !t[first.len()..].trim_start().starts_with(',');
    let narration_start = crate::lexicon::pronoun_gender(&lower).is_some()
        || matches!(lower.as_str(), "they" | "then" | "and" | "his" | "her" | "their")
        || named
        || words.get(1).is_some_and(|w| w.starts_with(char::is_uppercase) && first.starts_with(char::is_uppercase));
    !narration_start && first.starts_with(char::is_uppercase) && !words.iter().any(|w| crate::lexicon::is_speech_verb(&w.to_lowercase()))
}

/// Where a dash-introduced speech starts in a paragraph: at its start, or after "said:".
fn dash_start(p: &str) -> Option<usize> {
    let is_dash = |t: &str| t.starts_with('—') || t.starts_with("--") || t.starts_with('―');
    if is_dash(p) {
        // "— I —": a part's number between dashes is a heading.
        let rest = p.trim_start_matches(['—', '-', '―', ' ']);
        let numeral = rest.split_whitespace().next().is_some_and(|w| w.chars().all(|c| matches!(c, 'I' | 'V' | 'X' | 'L')));
        if numeral && rest.split_whitespace().nth(1).is_some_and(is_dash) {
            return None;
        }
        return Some(0);
    }
    let i = p.find(": —").or_else(|| p.find(": --")).or_else(|| p.find(":—"))?;
    let d = i + p[i..].find(['—', '-'])?;
    Some(d)
}

/// Marks letters and scare quotes.
fn classify(book: &Book, quotes: &mut [Quote]) {
    let text = &book.text;
    let mut i = 0;
    while i < quotes.len() {
        // A run of unclosed paragraphs is one multi-paragraph quotation.
        let mut j = i;
        while j + 1 < quotes.len() && quotes[j].unclosed && quotes[j + 1].continued {
            j += 1;
        }
        let first = &text[quotes[i].inner.start..quotes[i].inner.end];
        if j > i && is_salutation(first) {
            for q in &mut quotes[i..=j] {
                q.role = QuoteRole::Letter;
            }
        } else if i == j && (is_scare_quote(text, &quotes[i]) || {
            // Speech earlier in the paragraph may be the first half of this one; a quoted term
            // (“keep up,”) is not.
            let para_start = book.paragraphs.get(quotes[i].paragraph).map_or(0, |p| p.span.start);
            let speech_before = quotes[..i].iter().rev().take_while(|x| x.span.end > para_start).any(|x| x.role != QuoteRole::ScareQuote);
            quoted_fragment(book, &quotes[i], speech_before)
        }) {
            quotes[i].role = QuoteRole::ScareQuote;
        }
        i = j + 1;
    }
    mark_citations(book, quotes);
    mark_thoughts(book, quotes);
}

/// The words of a text, lowercased.
fn lower_words(t: &str) -> impl Iterator<Item = String> + '_ {
    t.split(|c: char| !c.is_alphabetic() && c != '\'' && c != '’').map(|w| w.trim_matches(['\'', '’'])).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// Marks written words and words only mentioned: an illustration's caption ("[Illustration:
/// “Mr. Darcy bowed”]"), an inscription ("the inscription, “Also Georgiana”", "“To James
/// Mortimer,” was engraved upon it"), a note that speaks ("“I am going to have a party,” it
/// said"), a chapter's epigraph, quoted verse, and words not said ("She didn't say “perhaps
/// never”", "as soon as you can say “Gee!”").
fn mark_citations(book: &Book, quotes: &mut [Quote]) {
    let text = &book.text;
    let mut vocabulary = None;
    // "[Illustration: …]" (or "[ Illustration : …]" in tokenised text), and an editor's
    // "[Footnote 1: …]" or "[Sidenote: …]".
    let mut captions = text
        .match_indices('[')
        .filter(|(i, _)| {
            let rest = text[i + 1..].trim_start_matches(' ');
            ["Illustration", "Footnote", "Sidenote"].iter().any(|w| rest.starts_with(w))
        })
        .map(|(i, _)| Span::new(i, text[i..].find(']').map_or(text.len(), |e| i + e)))
        .peekable();
    let mut prev_chapter = usize::MAX;
    for i in 0..quotes.len() {
        let q = quotes[i];
        let chapter = book.paragraphs.get(q.paragraph).map_or(0, |p| p.chapter);
        let opens_chapter = chapter != prev_chapter;
        prev_chapter = chapter;
        while captions.peek().is_some_and(|c| c.end < q.span.start) {
            captions.next();
        }
        if q.role != QuoteRole::Speech {
            continue;
        }
        if captions.peek().is_some_and(|c| c.start < q.span.start) {
            quotes[i].role = QuoteRole::Citation;
            continue;
        }
        if q.continued {
            continue;
        }
        let para = book.paragraphs.get(q.paragraph).map_or(Span::new(0, text.len()), |p| p.span);
        let before = &text[para.start.min(q.span.start)..q.span.start];
        let next = quotes.get(i + 1).filter(|n| n.paragraph == q.paragraph).map(|n| n.span.start);
        let after = &text[q.span.end..next.unwrap_or(para.end).max(q.span.end)];
        // The few words before the opening mark, back to a sentence's end.
        let clause = before.rsplit(['.', '!', '?', ';', '”', '"']).next().unwrap_or("");
        let last: Vec<String> = lower_words(clause).collect();
        let last = &last[last.len().saturating_sub(4)..];
        let written = |w: &str| matches!(w, "inscription" | "inscribed" | "engraved" | "printed" | "written" | "labelled" | "labeled" | "epitaph" | "motto" | "painted" | "carved" | "stamped" | "lettered");
        let after_words: Vec<String> = lower_words(after.split(['.', '!', '?', ';', '—']).next().unwrap_or("")).take(4).collect();
        let aw = |k: usize| after_words.get(k).map_or("", String::as_str);
        let inscribed_after = (0..3).any(|k| matches!(aw(k), "was" | "were" | "is" | "are" | "been") && written(aw(k + 1)));
        // "it said" of a note, not of a creature: something written is in view just before.
        let note_speaks = aw(0) == "it" && matches!(aw(1), "said" | "says" | "ran" | "runs" | "read" | "reads") && {
            // (Or later in its own paragraph: "“Go at once,” it said, for he had handed me the telegram.")
            let from = q.paragraph.checked_sub(1).and_then(|k| book.paragraphs.get(k)).map_or(para.start, |p| p.span.start).min(q.span.start);
            lower_words(&text[from..para.end.max(q.span.end)]).any(|w| {
                matches!(w.as_str(), "letter" | "note" | "telegram" | "card" | "message" | "paper" | "invitation" | "notice" | "wire" | "label" | "placard" | "read" | "reads" | "opened" | "unfolded")
            })
        };
        // "to say", "didn't say", "can say": words not said (but "began to say" is saying).
        let n = last.len();
        let unsaid = n >= 2
            && last[n - 1] == "say"
            && (matches!(last[n - 2].as_str(), "not" | "never" | "can" | "cannot" | "could") || last[n - 2].ends_with("n't") || last[n - 2].ends_with("n’t")
                || last[n - 2] == "to" && !(n >= 3 && matches!(last[n - 3].as_str(), "began" | "begun" | "begin" | "started" | "continued" | "proceeded" | "went" | "ventured" | "used")));
        if unsaid && clause.trim_end().ends_with(|c: char| c.is_alphabetic() || matches!(c, ',' | ':')) {
            quotes[i].role = QuoteRole::ScareQuote;
            continue;
        }
        // Joined to words quoted just before: “to say ‘good-by,’ than ‘how do you do.’”.
        let joined = i > 0 && quotes[i - 1].paragraph == q.paragraph && quotes[i - 1].role == QuoteRole::ScareQuote && {
            let between: Vec<String> = lower_words(&text[quotes[i - 1].span.end..q.span.start]).collect();
            matches!(between.as_slice(), [w] if matches!(w.as_str(), "than" | "or" | "nor" | "and"))
        };
        if joined {
            quotes[i].role = QuoteRole::ScareQuote;
            continue;
        }
        let writes = |w: &str| matches!(w, "write" | "wrote" | "writes" | "scrawled" | "scribbled");
        if last.iter().any(|w| written(w) || writes(w)) || inscribed_after || note_speaks {
            quotes[i].role = QuoteRole::Citation;
            // The note goes on after "it said": “…,” it said, “on Thursday…”.
            if note_speaks && next.is_some() && lower_words(after).count() == 2 {
                quotes[i + 1].role = QuoteRole::Citation;
            }
            continue;
        }
        if is_epigraph(book, &q, opens_chapter, before, after, &mut vocabulary) || verse_breaks(text, &q, &mut vocabulary) >= 2 {
            quotes[i].role = QuoteRole::Citation;
        }
    }
}

/// The first quotation of a chapter, at its head, signed by a dash line ("— Shakespeare") or in
/// verse: an epigraph.
fn is_epigraph<'t>(book: &'t Book, q: &Quote, first: bool, before: &str, after: &str, vocabulary: &mut Option<Vocabulary<'t>>) -> bool {
    // Right under the heading: the first quotation of a chapter, in its first paragraph, or on
    // the heading's own line.
    let Some(p) = book.paragraphs.get(q.paragraph) else { return false };
    let at_head = first && book.chapters.get(p.chapter).is_some_and(|c| c.paragraphs.start == q.paragraph);
    let head = before.trim();
    if !(head.is_empty() && at_head || !head.is_empty() && crate::book::is_heading(head)) {
        return false;
    }
    let sign = |t: &str| signature_line(t.trim_start());
    let rest = after.trim_start();
    // Its lines may stand indented, each a paragraph of its own, the signature after the last:
    // short lines that open no quotation, at most a stanza of them.
    let line = |t: &str| t.chars().count() <= 90 && !t.starts_with(|c: char| is_double(c) || is_single(c));
    let signed = if rest.is_empty() {
        book.paragraphs[q.paragraph + 1..].iter().take(8).map(|n| book.slice(n.span)).find(|t| sign(t) || !line(t)).is_some_and(sign)
    } else {
        sign(rest)
    };
    signed || verse_breaks(&book.text, q, vocabulary) >= 1
}

/// A line that signs an epigraph: a dash, then a name or a title ("—Shakespeare", "-- _The Maid's
/// Tragedy_").
fn signature_line(t: &str) -> bool {
    t.starts_with(['—', '-', '―']) && t.trim_start_matches(['—', '-', '―', ' ', '_']).starts_with(char::is_uppercase)
}

/// Words inside a quotation that start a line of verse: capitalised in mid-sentence (after a
/// comma, a semicolon or a line break that ends no sentence), yet no name: a small word ("Of",
/// "And") or a common word the book never capitalises in mid-sentence elsewhere. Two make quoted
/// verse: “Where the Northern Ocean, in vast whirls, | Boils round the naked, melancholy isles |
/// Of farthest Thule”.
fn verse_breaks<'t>(text: &'t str, q: &Quote, vocabulary: &mut Option<Vocabulary<'t>>) -> usize {
    const SMALL: &[&str] = &["Of", "And", "The", "In", "To", "With", "From", "For", "Or", "Nor", "But", "Where", "When", "That", "Which", "Who", "Whose", "Than", "On", "At", "By", "Like", "Again", "Thus", "So", "Is", "Are", "Was", "Were", "Its", "Their", "His", "Her", "My", "Thy", "Our", "Your", "A", "An"];
    let inner = &text[q.inner.start..q.inner.end];
    let mut count = 0;
    let mut prev = "";
    for (k, w) in inner.split([' ', '\n', '\t']).filter(|w| !w.is_empty()).enumerate() {
        let p = std::mem::replace(&mut prev, w);
        let word = w.trim_end_matches(|c: char| !c.is_alphabetic());
        if k == 0 || word.len() < 2 || !word.starts_with(|c: char| c.is_uppercase()) || word.chars().skip(1).any(char::is_uppercase) || crate::lexicon::is_title(word) {
            continue;
        }
        let bare = p.trim_end_matches(['’', '”', ')']);
        if bare.is_empty() || p.ends_with(['“', '‘', '"', '\'']) || bare.ends_with(['.', '!', '?', '—', '-', ':']) || crate::lexicon::is_title(p.trim_end_matches('.')) {
            continue;
        }
        let small = SMALL.contains(&word);
        if !small && !p.ends_with([',', ';']) {
            continue;
        }
        if small || !vocabulary.get_or_insert_with(|| Vocabulary::new(text)).is_name(word, inner) {
            count += 1;
        }
    }
    count
}

/// The book's words, gathered once when a quotation first looks like verse: those written in
/// lower case, and how often each capitalised word stands in mid-sentence (after a lower-case
/// word or a comma): names.
struct Vocabulary<'t> {
    lower: HashSet<&'t str>,
    capitalised: HashMap<&'t str, usize>,
}

impl<'t> Vocabulary<'t> {
    fn new(text: &'t str) -> Self {
        let mut lower = HashSet::new();
        let mut capitalised: HashMap<&str, usize> = HashMap::new();
        let mut mid_sentence = false;
        for w in text.split_whitespace() {
            let word = w.trim_matches(|c: char| !c.is_alphabetic());
            if word.starts_with(char::is_lowercase) {
                lower.insert(word);
            } else if mid_sentence && word.starts_with(char::is_uppercase) {
                *capitalised.entry(word).or_default() += 1;
            }
            mid_sentence = goes_on(w, word);
        }
        Self { lower, capitalised }
    }

    /// Whether `word` is a name: capitalised in mid-sentence outside the quotation `inner`, or
    /// never written in lower case.
    fn is_name(&self, word: &str, inner: &str) -> bool {
        let lower = word.to_lowercase();
        if !self.lower.contains(lower.as_str()) {
            return true;
        }
        let here = capitalised_mid_sentence(inner).filter(|&w| w == word).count();
        self.capitalised.get(word).copied().unwrap_or(0) > here
    }
}

/// The capitalised words of a text that stand in mid-sentence, as [`Vocabulary`] counts them.
fn capitalised_mid_sentence(text: &str) -> impl Iterator<Item = &str> {
    let mut mid_sentence = false;
    text.split_whitespace().filter_map(move |w| {
        let word = w.trim_matches(|c: char| !c.is_alphabetic());
        let found = (mid_sentence && word.starts_with(char::is_uppercase)).then_some(word);
        mid_sentence = goes_on(w, word);
        found
    })
}

/// Whether the sentence goes on after the whitespace-separated `w` (its letters `word`): it ends
/// in a letter or a comma, or is a comma alone.
fn goes_on(w: &str, word: &str) -> bool {
    let end = w.trim_end_matches(['”', '’', '"', '\'', ')']);
    !word.is_empty() && (end.ends_with(char::is_alphabetic) || end.ends_with(',')) || w.chars().all(|c| c == ',')
}

/// Quotations a thinking verb tags: “‘Well!’ thought Alice”, “she thought, ‘now what?’”. The
/// second half of an interrupted thought (“thought Alice, ‘without pictures’”) is one too.
fn mark_thoughts(book: &Book, quotes: &mut [Quote]) {
    use crate::lexicon::is_thought_verb;
    fn words(t: &str) -> Vec<&str> {
        t.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).collect()
    }
    let text = &book.text;
    for i in 0..quotes.len() {
        if quotes[i].role != QuoteRole::Speech || quotes[i].unclosed || quotes[i].continued {
            continue;
        }
        let mut para = book.paragraphs.get(quotes[i].paragraph).map_or(text.len(), |p| p.span.end);
        let mut next = quotes.get(i + 1).filter(|n| n.paragraph == quotes[i].paragraph).map(|n| n.span.start);
        // One sentence per line: the tag may open the next line (“‘Well!’ | thought Alice”).
        if book.line_paragraphs
            && next.is_none()
            && text[quotes[i].span.end..para.max(quotes[i].span.end)].trim().is_empty()
            && let Some(np) = book.paragraphs.get(quotes[i].paragraph + 1).filter(|np| book.slice(np.span).starts_with(char::is_lowercase))
        {
            para = np.span.end;
            next = quotes.get(i + 1).filter(|n| n.paragraph == quotes[i].paragraph + 1).map(|n| n.span.start);
        }
        let end = next.unwrap_or(para).max(quotes[i].span.end);
        let after = &text[quotes[i].span.end..end];
        // The tag's own clause, up to the first sentence end or comma: a few words around the
        // verb ("thought Alice", "she thought to herself"), not a sentence that goes on ("Though
        // she thought of her body as …").
        let clause = after.split(['.', '!', '?', ';', ',', ':', '—', '-']).next().unwrap_or("");
        let ws = words(clause);
        let tag = ws.len() <= 5 && ws.iter().take(3).position(|w| is_thought_verb(w)).is_some_and(|k| !ws[..k].iter().any(|w| crate::lexicon::is_speech_verb(w) && !is_thought_verb(w)));
        // Or before: “Alice thought, ‘…’” / “she thought to herself: ‘…’”.
        let start = quotes[i].span.start;
        let pstart = book.paragraphs.get(quotes[i].paragraph).map_or(0, |p| p.span.start.min(start));
        let before = text[pstart..start].trim_end();
        let lead = before.ends_with([',', ':']) && {
            let cut = before.trim_end_matches([',', ':']).rfind(['.', '!', '?', '”', '’', '"']).map_or(0, |k| k + before[k..].chars().next().map_or(1, char::len_utf8));
            let sentence = &before[cut..];
            words(sentence).iter().rev().take(4).any(|w| is_thought_verb(w))
        };
        if !tag && !lead {
            continue;
        }
        quotes[i].role = QuoteRole::Thought;
        // The thought goes on after its tag in the same sentence: nothing but the tag between.
        if tag && next.is_some() && words(after).len() == ws.len() && !after.contains(['.', '!', '?']) {
            quotes[i + 1].role = QuoteRole::Thought;
        }
    }
}

fn is_salutation(t: &str) -> bool {
    let head: String = t.chars().take(60).collect();
    let first_line = head.split(['\n', '.', '!']).next().unwrap_or("");
    let lower = first_line.to_lowercase();
    (lower.starts_with("dear ") || lower.starts_with("my dear ") || lower.starts_with("sir,") || lower.starts_with("madam,"))
        && first_line.trim_end().ends_with(',')
        && first_line.split_whitespace().count() <= 5
}

/// Whether one of the two words before a quotation tells of speaking: "he said “no”", "she went
/// on, “and then”" (but "went “twosing”" is going, not speaking).
fn speech_verb_before(before: &str) -> bool {
    let mut words = before.rsplit(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).map(str::to_lowercase);
    let (last, prev) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    let speaks = |w: &str, next: &str| crate::lexicon::is_speech_verb(w) && (w != "went" || next == "on");
    speaks(&last, "") || speaks(&prev, &last)
}

/// A lowercase word that cannot start a speech tag (not a pronoun, not a speech verb).
fn lexicon_free(w: &str) -> bool {
    !crate::lexicon::is_speech_verb(w) && crate::lexicon::pronoun_gender(w).is_none() && !matches!(w, "i" | "they" | "we" | "you" | "it" | "and" | "but" | "then" | "cried" | "said")
}

/// Words quoted inside narration: “look out for “the seafaring man with one leg.””, “with an army
/// “numerous as the leaves on the trees,” its truth”. Speech opens with a capital; the lowercase
/// second half of an interrupted speech has its first half and its tag earlier in the paragraph.
/// So: lowercase, with no quotation mark before it in its paragraph, no speech verb in its
/// sentence and none in the words right after it.
fn quoted_fragment(book: &Book, q: &Quote, speech_before: bool) -> bool {
    let text = &book.text;
    let inner = &text[q.inner.start..q.inner.end];
    if q.continued || q.unclosed || !inner.starts_with(char::is_lowercase) || inner.trim_end().ends_with(['!', '?', '—', '-', '…']) {
        return false;
    }
    // One sentence per line: a line opening in lower case goes on with the sentence above it.
    let mut p = q.paragraph;
    while book.line_paragraphs && p > 0 && book.paragraphs.get(p).is_some_and(|x| book.slice(x.span).starts_with(char::is_lowercase)) {
        p -= 1;
    }
    let Some(para) = book.paragraphs.get(p) else { return false };
    let before = text[para.span.start.min(q.span.start)..q.span.start].trim_end_matches([' ', '\t']);
    if before.is_empty() || before.ends_with(['\n', '.', '!', '?', ':', ';']) || speech_before && before.contains(['“', '”', '"', '«', '»', '‘']) {
        return false;
    }
    // The sentence so far: a full stop after a title ("said Mrs. Bennet, “that…”") or a "!"
    // inside brackets ("who often (bless her!) speaks") does not end it.
    let ends_sentence = |i: usize| {
        let word = before[..i].rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or("");
        !before[i + 1..].trim_start().starts_with(')') && !crate::lexicon::is_title(word)
    };
    let start = before.rmatch_indices(['.', '!', '?']).map(|(i, _)| i).find(|&i| ends_sentence(i)).map_or(0, |i| i + 1);
    // A semicolon or colon ends the clause that could tag it ("…who admitted that …; and maidens
    // who requested God to “guide their feet”").
    let start = before.rfind([';', ':']).map_or(start, |i| start.max(i + 1));
    let speechless = |t: &str| !t.split(|c: char| !c.is_alphabetic()).any(|w| crate::lexicon::is_speech_verb(&w.to_lowercase()));
    let after: String = text[q.span.end..].split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    // A clause of its own after the words ("“good:” if you inquired backward") is no tag.
    let clause_after = after.split_whitespace().next().is_some_and(|w| matches!(w, "if" | "when" | "because" | "though" | "although" | "unless" | "while" | "whereas"));
    // A verb's bare form right after the words is a noun or a command, no tag ("“only if not
    // noisy,” reply paid"): a tag says "replied", or "would reply" before it.
    let bare = |w: &str| matches!(w, "reply" | "answer" | "say" | "ask" | "cry" | "call" | "shout" | "whisper" | "protest" | "remark" | "retort");
    let tagless_after = after.split_whitespace().enumerate().all(|(k, w)| {
        let w = w.trim_matches(|c: char| !c.is_alphabetic()).to_lowercase();
        !crate::lexicon::is_speech_verb(&w) || k == 0 && bare(&w)
    });
    speechless(&before[start..]) && (clause_after || tagless_after)
}

fn is_scare_quote(text: &str, q: &Quote) -> bool {
    let inner = &text[q.inner.start..q.inner.end];
    // A title: "New York Society as I Have Seen It." — nearly every word capitalised.
    let ws: Vec<&str> = inner.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).collect();
    let caps = ws.iter().filter(|w| w.chars().next().is_some_and(char::is_uppercase)).count();
    if ws.len() >= 3 && caps * 4 >= ws.len() * 3 && !inner.contains([',', '!', '?', '\n']) {
        return true;
    }
    // A work's title, however long: "a copy of “Lines addressed to a young lady on quitting Miss
    // Pinkerton's school”".
    let lead = text[..q.span.start].trim_end_matches([' ', '\t', '\n']);
    if [" copy of", " copies of", " volume of", " edition of"].iter().any(|w| lead.ends_with(w)) {
        return true;
    }
    let words = inner.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count();
    if words > 5 || inner.ends_with(['!', '?', '—', '-', '…', ';', ':']) {
        return false;
    }
    let before = text[..q.span.start].trim_end_matches([' ', '\t']);
    let after = text[q.span.end..].trim_start_matches([' ', '\t']);
    let prev_word = before.trim_end_matches(|c: char| !c.is_alphabetic()).rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or("");
    let word_before = before.ends_with(|c: char| c.is_alphabetic() || c == ',');
    if q.continued || q.unclosed {
        return false;
    }
    // A name given: called “hand-me-downs,”, known as “the Tail”, the word “met”.
    let naming = matches!(prev_word, "called" | "named" | "termed" | "dubbed" | "christened" | "nicknamed" | "entitled" | "styled" | "labelled" | "labeled")
        || before.ends_with(" known as")
        || before.ends_with(" word")
        || before.ends_with(" words");
    if naming && before.ends_with(|c: char| c.is_alphabetic()) {
        return true;
    }
    // A saying quoted: the homely adage, ‘handsome is, that handsome does’ ("by saying, “…”" is
    // speech, so not "saying").
    if matches!(prev_word, "adage" | "proverb" | "maxim" | "motto" | "phrase" | "expression" | "epitaph" | "inscription") && before.ends_with(|c: char| c.is_alphabetic() || matches!(c, ',' | ':')) {
        return true;
    }
    // A title in the middle of a sentence: read to from “Do and Dare,” or “Frank on the
    // Mississippi,”; the appellation of the “House of Usher”. Every word but the small ones
    // capitalised (a comma or full stop may close it inside the marks).
    let core = inner.trim_end().trim_end_matches([',', '.']).trim_end();
    let title_words: Vec<&str> = core.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).collect();
    let content: Vec<&&str> = title_words
        .iter()
        .filter(|w| !matches!(w.to_lowercase().as_str(), "of" | "the" | "a" | "an" | "and" | "on" | "in" | "to" | "for" | "at" | "by" | "with" | "from" | "or"))
        .collect();
    if word_before
        && !crate::lexicon::is_speech_verb(prev_word)
        && title_words.len() >= 2
        && content.len() >= 2
        && title_words[0].starts_with(char::is_uppercase)
        && content.iter().all(|w| w.starts_with(char::is_uppercase))
        && !core.contains([',', '!', '?', '\n', ';'])
    {
        return true;
    }
    // A term in the middle of a sentence: "went “twosing,” and joined", "as the phrase goes,
    // “followed the sea” with". Speech opens with a capital. The lowercase second half of an
    // interrupted speech ("“I know,” said he, “that you…”") has the first half earlier in the
    // same sentence, and a speech may follow its verb ("he said “no” and left").
    // (Lines of plain text are wrapped inside sentences: only a blank line ends one here.)
    let sentence_start = before.rfind(['.', '!', '?']).map_or(0, |i| i + 1).max(before.rfind("\n\n").map_or(0, |i| i + 2));
    // The closing mark of a speech that ended the sentence before is no part of this one
    // (“…that boy!” | She went out among the “jimpson” weeds).
    let sentence = before[sentence_start..].trim_start_matches(['”', '’', '"', '\'', '»', ' ', '\n']);
    let closed_speech_before = sentence.contains(['”', '"', '»'])
        || [",’", ",'", "?’", "!’", "—’", ", ’", ", '"].iter().any(|m| sentence.contains(m));
    if words <= 3
        && !q.continued
        && inner.starts_with(char::is_lowercase)
        && !before.is_empty()
        && !before.ends_with(['\n', '.', '!', '?', ':'])
        && !closed_speech_before
        && !speech_verb_before(before)
    {
        let next_word: String = after.trim_start_matches([',', ';']).trim_start().chars().take_while(|c| c.is_alphabetic()).collect();
        let next_word = next_word.to_lowercase();
        if next_word.is_empty() || matches!(next_word.as_str(), "and" | "but" | "or") || lexicon_free(&next_word) {
            return true;
        }
    }
    // A word quoted as a word: "‘Wuthering’ being a provincial adjective".
    let next_word: String = after.chars().take_while(|c| c.is_alphabetic()).collect();
    let sentence_start = before.is_empty() || before.ends_with(['\n', '.', '!', '?']);
    if sentence_start
        && words <= 3
        && !inner.ends_with(|c: char| c.is_ascii_punctuation())
        && next_word.starts_with(char::is_lowercase)
        && lexicon_free(&next_word)
    {
        return true;
    }
    let Some(pc) = before.chars().last() else { return false };
    // Mid-sentence: a word (not a speech verb) right before the opening mark.
    if !pc.is_alphanumeric() {
        return false;
    }
    if crate::lexicon::is_speech_verb(prev_word) || matches!(prev_word, "and" | "but" | "then") {
        return false;
    }
    if inner.ends_with([',', '.']) {
        return words <= 3;
    }
    // (A dash after it goes on with the sentence too: "by the natives ‘Macumazahn’ — Anglicè, he
    // who keeps a bright look-out".)
    after.chars().next().is_none_or(|c| c.is_lowercase() || matches!(c, ',' | ';' | ')' | '.' | '\n' | '—' | '–' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::import_text;

    fn quotes(t: &str) -> Vec<String> {
        let b = import_text(t.to_owned());
        find_quotes(&b).iter().filter(|q| q.role == QuoteRole::Speech).map(|q| b.slice(q.inner).to_owned()).collect()
    }

    #[test]
    fn curly_and_straight_double() {
        assert_eq!(quotes("“My dear,” said his lady, “have you heard?”\n\n\"Yes,\" he said."), ["My dear,", "have you heard?", "Yes,"]);
    }

    #[test]
    fn a_straight_mark_ending_a_paragraph_opens_nothing() {
        // One line per paragraph. The letter's opening mark was lost: its closing one must not
        // open the diary after it.
        let t = "I trust that your journey has been a happy one.\n\"Your friend,\" DRACULA.\"\n4 May.\n\
                 I found that my landlord had got a letter from the Count.\nHe would not say more.\n\
                 \"Must you go?\" she said.\nI went.\n";
        assert_eq!(quotes(t), ["Your friend,", "Must you go?"]);
        // But it does open a speech whose next line starts with a nested quotation.
        let t = "He nodded.\nIt was late. \"\n'Death,' \" quoted Warwick, \"'is the penalty of living.'\"\nHe left.\n";
        assert_eq!(quotes(t).len(), 2, "{:?}", quotes(t));
    }

    #[test]
    fn british_single_with_apostrophes() {
        let t = "‘I don’t care for ’em,’ said Alice, ‘nor the boys’ books.’\n\n'It's Tom's,' she said. 'Tis late.\n\n'Come here,' said the Queen.\n\n‘No,’ she said.\n\n'Why?' he asked.";
        assert_eq!(quotes(t), ["I don’t care for ’em,", "nor the boys’ books.", "It's Tom's,", "Come here,", "No,", "Why?"]);
    }

    #[test]
    fn a_stage_direction_in_brackets_splits_a_speech() {
        let t = "“Lizzy! Georgy! (calling to his sisters) Joan is not here.”\n\n“Hush (he's asleep) and go.”";
        assert_eq!(quotes(t), ["Lizzy! Georgy!", "Joan is not here.", "Hush (he's asleep) and go."]);
    }

    #[test]
    fn nested_quotes_stay_inside() {
        assert_eq!(quotes("“He said ‘go’ to me,” she said."), ["He said ‘go’ to me,"]);
        // Curly single marks nested in a single-quote speech, in prose and in tokenised text.
        let t = "‘She was better pleased to say ‘good-by’ than ‘how do you do.’ And we should call, mamma.’\n\n‘No,’ said she.";
        assert_eq!(quotes(t), ["She was better pleased to say ‘good-by’ than ‘how do you do.’ And we should call, mamma.", "No,"]);
        let t = "‘ But you may believe it .\nShe was better pleased to say ‘ good-by , ’ than ‘ how do you do . ’\nAnd we should call , mamma . ’\n‘ No , ’ said she .\n";
        assert_eq!(quotes(t).len(), 2, "{:?}", quotes(t));
    }

    #[test]
    fn multi_paragraph_speech() {
        let t = "“It began in May.\n\n“Then it rained.”\n\nShe stopped.";
        let b = import_text(t.to_owned());
        let q = find_quotes(&b);
        assert_eq!(q.len(), 2);
        assert!(q[0].unclosed && !q[0].continued);
        assert!(q[1].continued && !q[1].unclosed);
        assert_eq!(b.slice(q[0].inner), "It began in May.");
    }

    #[test]
    fn words_quoted_inside_narration_are_not_speech() {
        let t = "He paid me to look out for “the seafaring man with one leg.” How that haunted my dreams!\n\n\
                 “Dining out,” said Mrs. Bennet, “that is very unlucky.”\n\n\
                 “The difference,” said my sister-in-law, who often (bless her!) speaks on a platform, “is that \
                 he sees his duties.”\n\n\
                 Montcalm was moving south with an army “numerous as the leaves on the trees,” its truth was \
                 admitted.";
        let b = import_text(t.to_owned());
        let roles: Vec<QuoteRole> = find_quotes(&b).iter().map(|q| q.role).collect();
        use QuoteRole::{ScareQuote as Words, Speech};
        assert_eq!(roles, [Words, Speech, Speech, Speech, Speech, Words]);
        // One sentence per line, the tag's sentence broken after "!".
        let lines = "“ The difference , ” said my sister-in-law , who often ( bless her ! )\n\
                     speaks on a platform , “ is that he sees his duties . ”\n\
                     He ordered me to look out for “ the seafaring man with one leg . ”\n\
                     How that haunted my dreams .\n";
        let b = import_text(lines.to_owned());
        let roles: Vec<QuoteRole> = find_quotes(&b).iter().map(|q| q.role).collect();
        assert_eq!(roles, [Speech, Speech, Words]);
    }

    #[test]
    fn scare_quotes_and_letters_are_marked() {
        let went = "She played tennis, went “twosing,” and joined societies.\n\nShe went on, “and so,” and stopped.";
        let b = import_text(went.to_owned());
        let roles: Vec<QuoteRole> = find_quotes(&b).iter().map(|q| q.role).collect();
        assert_eq!(roles, [QuoteRole::ScareQuote, QuoteRole::Speech], "going is not speaking; going on is");
        // The speech before ends its own sentence.
        let jimpson = "She was angry. “I never did see the beat of that boy!” She looked out among the tomato \
                       vines and “jimpson” weeds that grew there.";
        let roles: Vec<QuoteRole> = find_quotes(&import_text(jimpson.to_owned())).iter().map(|q| q.role).collect();
        assert_eq!(roles, [QuoteRole::Speech, QuoteRole::ScareQuote]);
        // A name given and a title are no speech; a name answered is.
        let names = "She longed to hear herself called “Mrs. Wickham,” by each of them. He was read to from \
                     “Do and Dare,” or “Frank on the Mississippi,” by his governess.\n\n\
                     “Yes,” I said, “Jonathan Harker.”\n\nHe said, “Go to London.”";
        let roles: Vec<QuoteRole> = find_quotes(&import_text(names.to_owned())).iter().map(|q| q.role).collect();
        use QuoteRole::{ScareQuote as W, Speech as S};
        assert_eq!(roles, [W, W, W, S, S, S]);
        let t = "He called it his “castle” and laughed.\n\n“Dear Sir,\n\n“I write to you.\n\n“Yours, W.”\n\n“Go,” she said.";
        let b = import_text(t.to_owned());
        let roles: Vec<QuoteRole> = find_quotes(&b).iter().map(|q| q.role).collect();
        assert_eq!(roles, [QuoteRole::ScareQuote, QuoteRole::Letter, QuoteRole::Letter, QuoteRole::Letter, QuoteRole::Speech]);
    }

    fn roles(t: &str) -> Vec<QuoteRole> {
        let b = import_text(t.to_owned());
        find_quotes(&b).iter().map(|q| q.role).collect()
    }

    #[test]
    fn written_words_are_cited_not_spoken() {
        use QuoteRole::{Citation as C, ScareQuote as W, Speech as S};
        // A caption repeats a line of the text: it is no line of its own.
        assert_eq!(roles("[Illustration: “He was a gentleman,” said Elizabeth]\n\n“Yes,” said he."), [C, S]);
        assert_eq!(roles("“Yes,” said he.[1]\n\n[Footnote 1: Compare Johnson: “Sir, I have found you an argument.”]"), [S, C]);
        // Inscriptions, before and after.
        assert_eq!(roles("From the turn of the inscription, “Also Georgiana Wife of the Above,” I drew a conclusion."), [C]);
        assert_eq!(roles("“To James Mortimer, from his friends,” was engraved upon it. “Well?” said Holmes."), [C, S]);
        assert_eq!(roles("I beg you to write to this effect: “That I would not offend Madame Duval.”"), [C]);
        // A telegram that “says”, both halves; a creature called “it” speaks.
        assert_eq!(roles("He handed me the telegram. “Go to Baker Street at once,” it said. “Wait for me.”\n\n“Come,” said I."), [C, C, S]);
        assert_eq!(roles("The Dodo marked out a course. “The exact shape doesn't matter,” it said, and off they ran."), [S]);
        assert_eq!(roles("“Go to Baker Street at once,” it said, for he had handed me the telegram."), [C]);
        // Words not said; words begun.
        assert_eq!(roles("She didn't say “perhaps never,” but each silently added it."), [W]);
        assert_eq!(roles("He could walk off as soon as you can say “Gee!” and nobody the wiser."), [W]);
        assert_eq!(roles("He began to say, “Well, I never,” and stopped."), [S]);
        assert_eq!(roles("She was better pleased to say “good-by” than “how do you do.”"), [W, W]);
    }

    #[test]
    fn a_term_after_a_quoted_term_is_no_speech_resumed() {
        use QuoteRole::{ScareQuote as W, Speech as S};
        let t = "He was to “keep up,” at each place “taking up the work where he left off,” yet no tutor found it.";
        assert_eq!(roles(t), [W, W]);
        let t = "He was called Hunter Quatermain, or by the natives “Macumazahn” -- he who keeps a look-out.";
        assert_eq!(roles(t), [W]);
        let t = "A telegram from him bespeaking a room “only if not noisy,” reply paid, was produced at the office.";
        assert_eq!(roles(t), [W]);
        let t = "On the cover was a copy of “Lines addressed to a young lady on quitting Miss Pinkerton's school, at the Mall.”";
        assert_eq!(roles(t), [W]);
        // A speech verb in an earlier clause of the sentence tags nothing here.
        let t = "Some admitted that they would leave the “grubby children” soon; and others requested God to “guide their feet along the paths of usefulness.”";
        assert_eq!(roles(t), [W, W]);
        // After speech, a lowercase quotation may be the speech going on past an interruption.
        let t = "“Take a seat beside me” -- leading her to a sofa -- “and let us talk this matter over.”";
        assert_eq!(roles(t), [S, S]);
        let t = "“‘Death,’” quoted Warwick, “‘is the penalty of living.’”";
        assert_eq!(roles(t), [S, S]);
    }

    #[test]
    fn italic_words_after_a_verb_of_speaking_are_speech() {
        let t = "One of them cried out in a shrill but distinct voice, _Hekinah degul_: the others repeated \
                 the same words.\n\nI heard one of them cry aloud _Tolgo phonac_; then arrows flew.\n\n\
                 He cried _very_ loudly. She said it was _quite impossible_. The _hurgo_ (for so they call \
                 a great lord) said that _all was well_. “I said _Borach mevolah_, sir,” he told me.\n";
        let b = import_text(t.to_owned());
        let found: Vec<(&str, QuoteRole)> = find_quotes(&b).iter().map(|q| (b.slice(q.inner), q.role)).collect();
        assert_eq!(found, [("Hekinah degul", QuoteRole::Speech), ("Tolgo phonac", QuoteRole::Speech), ("I said _Borach mevolah_, sir,", QuoteRole::Speech)]);
    }

    #[test]
    fn epigraphs_and_verse_are_cited_not_spoken() {
        use QuoteRole::{Citation as C, Speech as S};
        let t = "CHAPTER I.\n\n“Mine ear is open, and my heart prepared:\nThe worst is worldly loss thou canst unfold.”\n\n\
                 —Shakespeare\n\nIt was a feature of those wars.\n\n“Hello,” said he.\n\n\
                 CHAPTER II.\n\n“TOM!”\n\n—and no answer came.\n\n\
                 CHAPTER III. Into the Primitive “Old longings nomadic leap, Chafing at custom's chain; Again from its brumal sleep Wakens the ferine strain.”\n\n\
                 Buck did not read the newspapers.\n";
        assert_eq!(roles(t), [C, S, S, C], "an epigraph under its heading, signed or in verse; a first line spoken");
        // As a plain-text book sets it: indented lines, each a paragraph, the signature below.
        let t = "CHAPTER I.\n\n     “Mine ear is open, and my heart prepared:\n     The worst is worldly loss thou canst unfold.”\n\n\
                 \x20    —Shakespeare\n\nIt was a feature of those wars. “Hello,” said Tom Jones.\n";
        assert_eq!(roles(t), [C, S]);
        // Verse run into a sentence, hard-wrapped as in a plain-text book, and speech full of a
        // name that is also a word.
        let t = "The water boils. They treat of the coast of Norway -- “Where the Northern Ocean, in vast whirls,\n\
                 Boils round the naked, melancholy isles\nOf farthest Thule.”\n\n\
                 “Not I,” said Good.\n\n“Yes I do, though, and so does Good; don't you, Good?” said Harry.\n";
        assert_eq!(roles(t), [C, S, S]);
        // One sentence per line: an epigraph left open is closed by the line that signs it, so
        // the marks after it keep their parity.
        let t = "CHAPTER I. \" Since I can do no good because a woman , Reach constantly at something that is near it .\n\
                 -- The Maid 's Tragedy : BEAUMONT AND FLETCHER .\nMiss Brooke was beautiful .\n\
                 The family was unquestionably \" good : \" if you inquired backward , you would find no tradesman .\n\
                 \" Yes , \" said Celia .\n";
        let b = import_text(t.to_owned());
        let found: Vec<(&str, QuoteRole)> = find_quotes(&b).iter().map(|q| (b.slice(q.inner), q.role)).collect();
        assert_eq!(found[1..], [("good :", QuoteRole::ScareQuote), ("Yes ,", S)], "{found:?}");
        assert_eq!(found[0].1, C, "{found:?}");
    }

    #[test]
    fn thoughts_are_told_from_speech() {
        use QuoteRole::{Speech, Thought};
        // A tag after, the thought going on after its tag, a tag before.
        let t = "‘Well!’ thought Alice to herself, ‘after such a fall as this, I shall think nothing of it!’\n\n\
                 She thought, ‘Now what?’\n\n‘Come here,’ said the Rabbit.";
        assert_eq!(roles(t), [Thought, Thought, Thought, Speech]);
        // Narration that merely uses the verb; a speech after a thought's sentence has ended.
        let t = "“Suppose we go,” Though she thought of her body as frail, she went.\n\n\
                 “It is well,” thought I; and Eliza said at once, “She is here.”";
        assert_eq!(roles(t), [Speech, Thought, Speech]);
        // One sentence per line: the tag opens the next line.
        let t = "‘ Come , ’ said the Rabbit .\nShe went down .\n‘ Well ! ’\nthought Alice to herself , ‘ after such a fall as this , I shall think nothing of it ! ’\n‘ No . ’\n";
        assert_eq!(roles(t), [Speech, Thought, Thought, Speech]);
    }

    #[test]
    fn a_word_quoted_at_a_sentence_start_is_not_speech() {
        let t = "“Wuthering” being a provincial adjective, the house is well named.\n\n“Yes” he said.\n\n“Go on,” she said.";
        assert_eq!(quotes(t), ["Yes", "Go on,"]);
    }

    #[test]
    fn a_lowercase_term_inside_a_sentence_is_not_speech_but_the_rest_of_an_interrupted_speech_is() {
        let t = "She tried “twosing,” and joined clubs. She liked “frocks” better than dresses.\n\n\
                 “I know,” said he, “that you are right.”\n\n\
                 He had, as the phrase goes, “followed the sea” with affection.";
        assert_eq!(quotes(t), ["I know,", "that you are right."]);
    }

    #[test]
    fn a_few_dashes_opening_narration_are_no_dialogue() {
        let mut t = String::new();
        for i in 0..60 {
            t.push_str(&format!("She walked to the window and looked at the hills for the {i}th time.\n\n"));
            if i % 15 == 0 {
                t.push_str("-- Fatal image! It planted a thorn in her heart.\n\n");
            }
        }
        let b = import_text(t.clone());
        assert_eq!(detect_style(&b), QuoteStyle::Double);
        assert!(quotes(&t).is_empty());
        // The same lines as a good share of the paragraphs are dialogue.
        let b = import_text(t.replace("She walked", "-- Yes, she walked"));
        assert_eq!(detect_style(&b), QuoteStyle::Dash);
    }

    #[test]
    fn dash_dialogue_cuts_out_the_tag_and_goes_on_after_it() {
        let t = "Stately, plump Buck Mulligan came from the stairhead.\n\n\
                 — Thanks, old chap, he cried briskly. That will do nicely. Switch off the current, will you?\n\n\
                 He skipped off the gunrest.\n\n\
                 — The mockery of it! he said gaily. Your absurd name, an ancient Greek!\n\n\
                 — Come up, Kinch! Come up, you fearful jesuit!\n\n\
                 — Tell me, Mulligan, Stephen said quietly.\n\n\
                 — Yes, said Mr. Dedalus. He turned away.\n\n\
                 — Yes, my love?\n";
        assert_eq!(
            quotes(t),
            [
                "Thanks, old chap,",
                "That will do nicely. Switch off the current, will you?",
                "The mockery of it!",
                "Your absurd name, an ancient Greek!",
                "Come up, Kinch! Come up, you fearful jesuit!",
                "Tell me, Mulligan,",
                "Yes,",
                "Yes, my love?",
            ]
        );
        // The same, one sentence per line: the speech goes on over the lines after its tag, as
        // one quotation, until narration opens a line.
        let lines = "Stately , plump Buck Mulligan came from the stairhead .\n\
                     — Thanks , old chap , he cried briskly .\n\
                     That will do nicely .\n\
                     Switch off the current , will you ?\n\
                     He skipped off the gunrest .\n\
                     — The mockery of it !\n\
                     he said gaily .\n\
                     Your absurd name , an ancient Greek !\n\
                     He pointed his finger in friendly jest .\n\
                     — Come up , Kinch !\n\
                     — Yes , my love ?\n\
                     Buck Mulligan laughed .\n";
        assert_eq!(
            quotes(lines),
            [
                "Thanks , old chap ,",
                "That will do nicely .\nSwitch off the current , will you ?",
                "The mockery of it !",
                "Your absurd name , an ancient Greek !",
                "Come up , Kinch !",
                "Yes , my love ?",
            ]
        );
        // A part's number between dashes is a heading; a line that opens with a name the book
        // uses as one is narration, not more of the speech.
        let lines = format!("— I — Stately , plump Buck Mulligan came from the stairhead .\n{}\
                     — Look at yourself , he said , you dreadful bard !\n\
                     Stephen bent forward and peered at the mirror .\n\
                     — Stephen , come here , he said .\n\
                     Stephen , you are late .\n\
                     — Yes .\n\
                     — No .\n", "He looked at Stephen .\n".repeat(2));
        assert_eq!(quotes(&lines), ["Look at yourself ,", "Stephen , come here ,", "Stephen , you are late .", "Yes .", "No ."]);
    }

    #[test]
    fn a_year_after_a_spaced_apostrophe_is_quoted() {
        let t = "' Come in , ' he said .\nI read the date ' 1500 , ' and the name ' Hareton . '\n' Sit down , ' he said .\n";
        let q = quotes(t);
        assert_eq!(q.first().map(String::as_str), Some("Come in ,"));
        assert_eq!(q.last().map(String::as_str), Some("Sit down ,"), "{q:?}");
    }

    #[test]
    fn tokenized_text() {
        let t = "“ My dear Mr. Bennet , ” said his lady , “ have you heard ? ”\nMr. Bennet replied that he had not .\n“ Nonsense , how can you talk so !\nIt is very likely . ”\n";
        assert_eq!(quotes(t), ["My dear Mr. Bennet ,", "have you heard ?", "Nonsense , how can you talk so !\nIt is very likely ."]);
        let t = "' Mr. Heathcliff ? ' I said .\nA nod was the answer .\nLincoln 's Inn was near .\n' Thrushcross Grange is my own , sir , ' he said .\n";
        assert_eq!(quotes(t), ["Mr. Heathcliff ?", "Thrushcross Grange is my own , sir ,"]);
        // A right mark standing alone is a plural possessive, never an opening.
        let t = "‘ Sit , ’ said she .\nHe threw her out of a two pair of stairs ’ window , and the boys ’ books fell too .\n‘ Come in , ’ said Miss Betsey .\n‘ No . ’\n";
        let b = import_text(t.to_owned());
        let all: Vec<&str> = find_quotes(&b).iter().map(|q| b.slice(q.inner)).collect();
        assert_eq!(all, ["Sit ,", "Come in ,", "No ."]);
        // A saying quoted is no speech.
        let t = "‘ Sit , ’ said she .\nHe was handsome , except in the sense of the homely adage , ‘ handsome is , that handsome does ’ -- for he beat her .\n‘ No . ’\n";
        assert_eq!(quotes(t), ["Sit ,", "No ."]);
    }
}
