//! Reading a teacher's JSON answer robustly. Models wrap JSON in code fences, chat before and after
//! it, leave trailing commas and raw newlines in strings, and stop mid-object when they run out of
//! tokens. [`find_json`] repairs what can be repaired without guessing at content (a truncated answer
//! loses its unfinished last field, never gets it completed) and says what it did; anything else is
//! rejected with a reason a person can read.

use serde_json::Value;

use crate::prompt::Task;

/// A question and the persona's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    /// The user turn.
    pub question: String,
    /// The persona's turn.
    pub answer: String,
}

/// What was done to an answer to read it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Repair {
    /// The JSON was inside a Markdown code fence.
    Fenced,
    /// Text before the JSON was dropped.
    TextBefore,
    /// Text after the JSON was dropped.
    TextAfter,
    /// The answer stopped mid-JSON: unfinished fields were dropped and the brackets closed.
    Truncated,
    /// Commas before a closing bracket were dropped, or raw line breaks inside strings escaped.
    Syntax,
    /// Items without a question or an answer were skipped.
    IncompleteItems,
    /// More pairs than asked for were given; the extra ones were dropped.
    TooMany,
}

/// The first JSON value in `raw`, repaired, with what was repaired; or why there is none.
pub fn find_json(raw: &str) -> Result<(Value, Vec<Repair>), String> {
    let mut repairs = Vec::new();
    let mut text = raw.trim_start_matches('\u{feff}').trim();
    if let Some(fence) = text.find("```") {
        let after = &text[fence + 3..];
        // Skip the info string (`json`).
        let body_start = after.find('\n').map(|i| i + 1).unwrap_or(0);
        let body = &after[body_start..];
        let end = body.find("```").unwrap_or(body.len());
        if body[..end].contains(['{', '[']) {
            if text[..fence].trim().contains(['{', '[']) {
                // JSON before the fence: the fence is something else; leave it.
            } else {
                repairs.push(Repair::Fenced);
                if !text[..fence].trim().is_empty() {
                    repairs.push(Repair::TextBefore);
                }
                if !body[end..].trim_start_matches("```").trim().is_empty() {
                    repairs.push(Repair::TextAfter);
                }
                text = body[..end].trim();
            }
        }
    }
    let Some(start) = text.find(['{', '[']) else {
        return Err(if grimoire_dataset::faithful::is_meta_talk(text) {
            format!(
                "the teacher declined or talked about the task instead of answering: {}",
                snippet(text)
            )
        } else if text.is_empty() {
            "the teacher's answer is empty".to_string()
        } else {
            format!("no JSON in the teacher's answer: {}", snippet(text))
        });
    };
    if !text[..start].trim().is_empty() && !repairs.contains(&Repair::TextBefore) {
        repairs.push(Repair::TextBefore);
    }
    let scan = scan(&text[start..]);
    if scan.syntax_fixed {
        repairs.push(Repair::Syntax);
    }
    if let Some(end) = scan.end {
        if !text[start + end..].trim().is_empty() && !repairs.contains(&Repair::TextAfter) {
            repairs.push(Repair::TextAfter);
        }
        return serde_json::from_str(&scan.clean)
            .map(|v| (v, repairs))
            .map_err(|e| {
                format!(
                    "the teacher's JSON is malformed ({e}): {}",
                    snippet(&text[start..])
                )
            });
    }
    // Truncated: cut back to the latest point where every value so far is complete.
    repairs.push(Repair::Truncated);
    for cut in scan.cuts.iter().rev() {
        let mut candidate = scan.clean[..cut.at]
            .trim_end()
            .trim_end_matches(',')
            .to_string();
        for closer in cut.open.iter().rev() {
            candidate.push(*closer);
        }
        if let Ok(v) = serde_json::from_str::<Value>(&candidate) {
            return Ok((v, repairs));
        }
    }
    Err(format!(
        "the teacher's answer stops mid-JSON and nothing complete is left: {}",
        snippet(&text[start..])
    ))
}

struct Cut {
    at: usize,
    open: Vec<char>,
}

struct Scan {
    /// The JSON text with syntax repairs applied (only up to `end` when it ended).
    clean: String,
    /// Where the value ended in the input, when it did.
    end: Option<usize>,
    /// Points of `clean` after which the text can be closed into complete JSON.
    cuts: Vec<Cut>,
    syntax_fixed: bool,
}

fn scan(text: &str) -> Scan {
    let mut clean = String::with_capacity(text.len());
    let mut stack: Vec<char> = Vec::new();
    let mut cuts = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut syntax_fixed = false;
    for (i, c) in text.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
                clean.push(c);
            } else if c == '\\' {
                escaped = true;
                clean.push(c);
            } else if c == '"' {
                in_string = false;
                clean.push(c);
            } else if c == '\n' {
                clean.push_str("\\n");
                syntax_fixed = true;
            } else if c == '\r' {
                syntax_fixed = true;
            } else if c == '\t' {
                clean.push_str("\\t");
                syntax_fixed = true;
            } else {
                clean.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                clean.push(c);
            }
            '{' | '[' => {
                stack.push(if c == '{' { '}' } else { ']' });
                clean.push(c);
            }
            '}' | ']' => {
                // A trailing comma before the closer.
                let trimmed = clean.trim_end().len();
                if clean[..trimmed].ends_with(',') {
                    clean.truncate(trimmed - 1);
                    syntax_fixed = true;
                }
                if stack.last() == Some(&c) {
                    stack.pop();
                }
                clean.push(c);
                if stack.is_empty() {
                    return Scan {
                        clean,
                        end: Some(i + 1),
                        cuts,
                        syntax_fixed,
                    };
                }
                cuts.push(Cut {
                    at: clean.len(),
                    open: stack.clone(),
                });
            }
            ',' => {
                cuts.push(Cut {
                    at: clean.len(),
                    open: stack.clone(),
                });
                clean.push(c);
            }
            _ => clean.push(c),
        }
    }
    Scan {
        clean,
        end: None,
        cuts,
        syntax_fixed,
    }
}

fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = one_line.chars().take(160).collect();
    if one_line.chars().count() > 160 {
        s.push('…');
    }
    s
}

fn text_field(v: &Value, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| v.get(*n))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

const QUESTION: &[&str] = &["question", "prompt", "user", "q"];
const ACCOUNT: &[&str] = &["account", "answer", "response", "text", "a"];
const ANSWER: &[&str] = &["answer", "account", "response", "a"];

/// Reads a teacher's answer for `task` into question–answer pairs, with the repairs made; or the
/// reason it was rejected.
pub fn parse_answer(raw: &str, task: &Task) -> Result<(Vec<Pair>, Vec<Repair>), String> {
    let (value, mut repairs) = find_json(raw)?;
    match task {
        Task::Rewrite => {
            let obj = match &value {
                Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            let question = text_field(&obj, QUESTION);
            let account = text_field(&obj, ACCOUNT);
            match (question, account) {
                (Some(question), Some(answer)) => Ok((vec![Pair { question, answer }], repairs)),
                (_, None) if repairs.contains(&Repair::Truncated) => {
                    Err("the teacher's answer was cut off before the account was complete".into())
                }
                (None, _) => Err(format!(
                    "the teacher's JSON has no \"question\": {}",
                    snippet(&value.to_string())
                )),
                (_, None) => Err(format!(
                    "the teacher's JSON has no \"account\": {}",
                    snippet(&value.to_string())
                )),
            }
        }
        Task::Qa { pairs } => {
            let items: Vec<Value> = match &value {
                Value::Array(items) => items.clone(),
                Value::Object(map) => {
                    match ["pairs", "qa", "questions", "items", "conversations", "data"]
                        .iter()
                        .find_map(|k| map.get(*k).and_then(Value::as_array))
                    {
                        Some(items) => items.clone(),
                        None => vec![value.clone()],
                    }
                }
                _ => Vec::new(),
            };
            let mut out = Vec::new();
            for item in &items {
                match (text_field(item, QUESTION), text_field(item, ANSWER)) {
                    (Some(question), Some(answer)) => out.push(Pair { question, answer }),
                    _ => {
                        if !repairs.contains(&Repair::IncompleteItems) {
                            repairs.push(Repair::IncompleteItems);
                        }
                    }
                }
            }
            if out.is_empty() {
                return Err(format!(
                    "the teacher's JSON has no question–answer pairs: {}",
                    snippet(&value.to_string())
                ));
            }
            if out.len() > *pairs as usize && *pairs > 0 {
                out.truncate(*pairs as usize);
                repairs.push(Repair::TooMany);
            }
            Ok((out, repairs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(raw: &str) -> Result<(Vec<Pair>, Vec<Repair>), String> {
        parse_answer(raw, &Task::Rewrite)
    }

    #[test]
    fn plain_fenced_and_chatty_answers() {
        let (p, r) = rewrite(r#"{"question": "Why?", "account": "I went."}"#).unwrap();
        assert_eq!(
            (p[0].question.as_str(), p[0].answer.as_str(), r.len()),
            ("Why?", "I went.", 0)
        );
        let (p, r) = rewrite("Sure! Here you go:\n```json\n{\"question\": \"Why?\", \"account\": \"I went.\"}\n```\nHope it helps.").unwrap();
        assert_eq!(p[0].answer, "I went.");
        assert_eq!(
            r,
            vec![Repair::Fenced, Repair::TextBefore, Repair::TextAfter]
        );
        let (_, r) =
            rewrite("Here: {\"question\": \"Why?\", \"account\": \"I {went}.\"} -- done").unwrap();
        assert_eq!(r, vec![Repair::TextBefore, Repair::TextAfter]);
    }

    #[test]
    fn syntax_slips_are_mended() {
        let (p, r) =
            rewrite("{\"question\": \"Why?\",\n \"account\": \"Line one\nline two\",\n}").unwrap();
        assert_eq!(p[0].answer, "Line one\nline two");
        assert_eq!(r, vec![Repair::Syntax]);
    }

    #[test]
    fn truncated_answers_lose_their_unfinished_part() {
        let err =
            rewrite(r#"{"question": "Why did you go?", "account": "I went because"#).unwrap_err();
        assert!(err.contains("cut off"), "{err}");
        let qa = Task::Qa { pairs: 3 };
        let (p, r) = parse_answer(r#"{"pairs": [{"question": "A?", "answer": "I a."}, {"question": "B?", "answer": "I b."}, {"question": "C?", "ans"#, &qa).unwrap();
        assert_eq!(p.len(), 2);
        assert!(r.contains(&Repair::Truncated));
        assert!(parse_answer(r#"{"pairs": [{"question": "A?", "ans"#, &qa).is_err());
    }

    #[test]
    fn qa_shapes_and_rejections() {
        let qa = Task::Qa { pairs: 2 };
        let (p, _) = parse_answer(r#"[{"q": "A?", "a": "I a."}]"#, &qa).unwrap();
        assert_eq!(p[0].question, "A?");
        let (p, r) = parse_answer(r#"{"pairs": [{"question": "A?", "answer": "I a."}, {"question": "B?"}, {"question": "C?", "answer": "c"}, {"question": "D?", "answer": "d"}]}"#, &qa).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(r, vec![Repair::IncompleteItems, Repair::TooMany]);
        assert!(
            parse_answer("As an AI, I cannot help with that.", &qa)
                .unwrap_err()
                .contains("declined")
        );
        assert!(parse_answer("", &qa).unwrap_err().contains("empty"));
        assert!(
            parse_answer("Once upon a time", &qa)
                .unwrap_err()
                .contains("no JSON")
        );
        assert!(
            parse_answer(r#"{"pairs": "none"}"#, &qa)
                .unwrap_err()
                .contains("no question")
        );
        assert!(
            parse_answer(r#"{"a": 1 "b": 2}"#, &qa)
                .unwrap_err()
                .contains("malformed")
        );
    }
}
