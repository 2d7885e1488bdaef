//! Strategy A: a persona's lines as chat examples. The user turn is what others said just before
//! (optionally with the narration that sets the scene); the assistant turn is the persona's words
//! with any interrupting narration removed. Whole scenes become multi-turn conversations.

use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::book::Span;
use crate::characters::CharacterId;
use crate::quotes::QuoteRole;

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Others in the scene (and the narration, when enabled).
    User,
    /// The persona.
    Assistant,
}

/// One chat message and the spans of the book it was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// User or assistant.
    pub role: Role,
    /// The words.
    pub content: String,
    /// Byte spans into [`crate::Book::text`] that make up `content`.
    pub spans: Vec<Span>,
}

/// A training example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Messages, starting with the user and alternating.
    pub messages: Vec<Message>,
    /// The passage the example covers, for showing it in context.
    pub source: Span,
    /// True for a whole-scene conversation, false for a single exchange.
    pub scene: bool,
    /// Lowest attribution confidence among the persona's lines in it.
    pub confidence: f32,
}

/// Knobs for [`build_examples`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleOptions {
    /// How many preceding turns by others make up the user message (at least 1).
    pub context_turns: usize,
    /// Persona lines shorter than this many chars are skipped.
    pub min_chars: usize,
    /// Put the narration paragraph before the exchange into the user message.
    pub narration: bool,
    /// Also emit whole scenes where the persona speaks at least twice.
    pub scenes: bool,
    /// Persona lines attributed with less confidence than this are not used (default 0.6: tags,
    /// beats, continuity, two-person exchanges that the tags on both sides confirm or that run
    /// long, and alternation between two speakers; alternation among several and weaker
    /// conversation guesses, right about half the time or less on LitBank, are left out).
    pub min_confidence: f32,
}

impl Default for ExampleOptions {
    fn default() -> Self {
        Self { context_turns: 2, min_chars: 10, narration: false, scenes: true, min_confidence: 0.6 }
    }
}

struct Turn {
    speaker: Option<CharacterId>,
    confidence: f32,
    spans: Vec<Span>,
    first_para: usize,
    last_para: usize,
}

/// Builds strategy A examples for `persona`.
pub fn build_examples(a: &Analysis, persona: CharacterId, opts: &ExampleOptions) -> Vec<Example> {
    let book = &a.book;
    let mut turns: Vec<Turn> = Vec::new();
    for (q, att) in a.quotes.iter().zip(&a.attributions) {
        if q.role != QuoteRole::Speech {
            continue;
        }
        match turns.last_mut() {
            Some(t) if (t.last_para == q.paragraph || q.continued) && t.speaker == att.speaker => {
                t.spans.push(q.inner);
                t.last_para = q.paragraph;
            }
            _ => turns.push(Turn { speaker: att.speaker, confidence: att.confidence, spans: vec![q.inner], first_para: q.paragraph, last_para: q.paragraph }),
        }
    }
    let content = |t: &Turn| t.spans.iter().map(|s| book.slice(*s).trim()).collect::<Vec<_>>().join(" ");
    // Scenes: runs of turns with at most two narration paragraphs between them, within a chapter.
    let mut scenes: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for i in 1..=turns.len() {
        let split = i == turns.len()
            || turns[i].first_para > turns[i - 1].last_para + 3
            || book.paragraphs[turns[i].first_para].chapter != book.paragraphs[turns[i - 1].last_para].chapter;
        if split {
            scenes.push(start..i);
            start = i;
        }
    }
    let narration_before = |t: &Turn| -> Option<(String, Span)> {
        let p = t.first_para.checked_sub(1)?;
        let para = book.paragraphs.get(p)?;
        let has_quote = a.quotes.iter().any(|q| q.paragraph == p);
        (!has_quote).then(|| (book.slice(para.span).to_owned(), para.span))
    };
    let is_persona = |t: &Turn| t.speaker == Some(persona) && t.confidence >= opts.min_confidence;
    let mut out = Vec::new();
    for scene in &scenes {
        for i in scene.clone() {
            let t = &turns[i];
            if !is_persona(t) || content(t).chars().count() < opts.min_chars {
                continue;
            }
            let mut ctx: Vec<&Turn> = Vec::new();
            let mut j = i;
            while j > scene.start && ctx.len() < opts.context_turns.max(1) {
                j -= 1;
                if turns[j].speaker == Some(persona) {
                    break;
                }
                ctx.push(&turns[j]);
            }
            ctx.reverse();
            let mut user = String::new();
            let mut spans = Vec::new();
            if opts.narration
                && let Some((n, s)) = ctx.first().map_or_else(|| narration_before(t), |c| narration_before(c)) {
                    user.push_str(&n);
                    user.push_str("\n\n");
                    spans.push(s);
                }
            for c in &ctx {
                user.push_str(&content(c));
                user.push('\n');
                spans.extend(c.spans.iter().copied());
            }
            let user = user.trim().to_owned();
            if user.is_empty() {
                continue;
            }
            let first = spans.first().map_or(t.spans[0].start, |s| s.start);
            let last = t.spans.last().map_or(0, |s| s.end);
            out.push(Example {
                messages: vec![
                    Message { role: Role::User, content: user, spans },
                    Message { role: Role::Assistant, content: content(t), spans: t.spans.clone() },
                ],
                source: Span::new(first, last),
                scene: false,
                confidence: t.confidence,
            });
        }
        if opts.scenes && turns[scene.clone()].iter().filter(|t| is_persona(t)).count() >= 2 {
            let mut messages: Vec<Message> = Vec::new();
            let mut conf = 1.0f32;
            for t in &turns[scene.clone()] {
                let role = if is_persona(t) { Role::Assistant } else { Role::User };
                if role == Role::Assistant {
                    conf = conf.min(t.confidence);
                }
                let text = content(t);
                match messages.last_mut() {
                    Some(m) if m.role == role => {
                        m.content.push('\n');
                        m.content.push_str(&text);
                        m.spans.extend(t.spans.iter().copied());
                    }
                    _ => messages.push(Message { role, content: text, spans: t.spans.clone() }),
                }
            }
            // A conversation opens with someone speaking to the persona and ends with the persona's
            // answer: what the persona said first, and what others said after their last line, go.
            if messages.first().is_some_and(|m| m.role == Role::Assistant) {
                messages.remove(0);
            }
            while messages.last().is_some_and(|m| m.role == Role::User) {
                messages.pop();
            }
            if messages.iter().filter(|m| m.role == Role::Assistant).count() >= 2 {
                let s = messages[0].spans.first().map_or(0, |x| x.start);
                let e = messages.iter().rev().find_map(|m| m.spans.last()).map_or(s, |x| x.end);
                out.push(Example { messages, source: Span::new(s, e), scene: true, confidence: conf });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_text;

    #[test]
    fn persona_lines_become_examples() {
        let t = "Harry Potter met Hermione Granger. Harry was tired and Hermione was cross.\n\n\
                 “Where have you been all day?” said Hermione.\n\n\
                 “Out on the grounds,” said Harry, rubbing his eyes, “with Hagrid.”\n\n\
                 “You should study,” said Hermione.\n\n\
                 “I know, I know, tomorrow,” said Harry.";
        let a = analyze_text(t);
        let harry = a.characters.find("Harry").expect("harry");
        let ex = build_examples(&a, harry, &ExampleOptions::default());
        let lines: Vec<&Example> = ex.iter().filter(|e| !e.scene).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].messages[0].content, "Where have you been all day?");
        assert_eq!(lines[0].messages[1].content, "Out on the grounds, with Hagrid.");
        let scene = ex.iter().find(|e| e.scene).expect("a scene");
        assert_eq!(scene.messages.len(), 4);
        assert_eq!(scene.messages[3].role, Role::Assistant);
    }

    #[test]
    fn a_scene_ends_on_the_personas_last_answer() {
        let t = "Harry Potter met Hermione Granger in the hall.\n\n\
                 “Where have you been?” said Hermione.\n\n\
                 “Out on the grounds,” said Harry.\n\n\
                 “You should study,” said Hermione.\n\n\
                 “Tomorrow,” said Harry.\n\n\
                 “You always say that,” said Hermione.";
        let a = analyze_text(t);
        let harry = a.characters.find("Harry").expect("harry");
        let ex = build_examples(&a, harry, &ExampleOptions::default());
        let scene = ex.iter().find(|e| e.scene).expect("a scene");
        let roles: Vec<Role> = scene.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::User, Role::Assistant]);
        assert_eq!(scene.messages[3].content, "Tomorrow,");
        // The source passage ends with Harry's last words, not Hermione's reply to them.
        let text: String = a.book.text.chars().skip(scene.source.start).take(scene.source.end - scene.source.start).collect();
        assert!(text.contains("Tomorrow") && !text.contains("always"), "{text}");
    }
}
