//! The rules of Mistral's fine-tuning format, checked line by line, each failure reported with its line
//! number and reason: at least one message; roles `system`, `user`, `assistant`; one system message at
//! most, and only first; after it user and assistant alternate, starting with the user; the last
//! message is the assistant's; no empty content; `weight`, when present, is 0 or 1.

use std::fmt;
use std::io::BufRead;

use grimoire_store::table::examples::{Message, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::tokens::TokenCounter;
use crate::{Error, Result};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Issue {
    /// The line is not valid UTF-8 or not a JSON object.
    NotJson {
        /// The parser's complaint.
        detail: String,
    },
    /// No `messages` list.
    NoMessageList,
    /// The `messages` list is empty.
    NoMessages,
    /// A message is not an object, or its role is missing or unknown.
    BadRole {
        /// Which message (from 0).
        index: usize,
        /// The role found, if any.
        found: Option<String>,
    },
    /// A message's content is missing or not a string.
    ContentNotText {
        /// Which message.
        index: usize,
    },
    /// A message's content is empty or only white space.
    EmptyContent {
        /// Which message.
        index: usize,
    },
    /// A system message anywhere but first (which also forbids a second one).
    MisplacedSystem {
        /// Which message.
        index: usize,
    },
    /// User and assistant do not alternate, starting with the user.
    OutOfOrder {
        /// Which message.
        index: usize,
        /// The role expected there.
        expected: Role,
    },
    /// The last message is not the assistant's.
    LastNotAssistant,
    /// A `weight` other than 0 or 1.
    BadWeight {
        /// Which message.
        index: usize,
    },
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson { detail } => write!(f, "not a JSON object: {detail}"),
            Self::NoMessageList => write!(f, "no \"messages\" list"),
            Self::NoMessages => write!(f, "\"messages\" is empty: at least one message is needed"),
            Self::BadRole { index, found: Some(role) } => {
                write!(f, "message {index} has role {role:?}; only system, user and assistant are allowed")
            }
            Self::BadRole { index, found: None } => write!(f, "message {index} has no role"),
            Self::ContentNotText { index } => write!(f, "message {index} has no text content"),
            Self::EmptyContent { index } => write!(f, "message {index} is empty"),
            Self::MisplacedSystem { index } => {
                write!(f, "message {index} is a system message; only one is allowed, and only first")
            }
            Self::OutOfOrder { index, expected } => write!(
                f,
                "message {index} should be from the {}: user and assistant must alternate, starting with the user",
                match expected {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                    Role::System => "system",
                }
            ),
            Self::LastNotAssistant => write!(f, "the last message must be the assistant's"),
            Self::BadWeight { index } => write!(f, "message {index} has a weight other than 0 or 1"),
        }
    }
}

/// A broken rule on one line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LineIssue {
    /// The line number, from 1.
    pub line: u32,
    /// What is wrong.
    pub issue: Issue,
}

impl fmt::Display for LineIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.issue)
    }
}

/// What the validator found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct ValidationReport {
    /// Conversations read (blank lines are not counted).
    pub lines: u32,
    /// Conversations that break no rule.
    pub valid: u32,
    /// Every broken rule.
    pub issues: Vec<LineIssue>,
    /// Tokens in the valid conversations.
    pub tokens: u64,
    /// The longest valid conversation, in tokens.
    pub max_tokens: u32,
}

/// The order rules over typed turns (what an edit in the grid produces): misplaced system message,
/// alternation, last turn, empty content, weight.
pub fn check_messages(messages: &[Message]) -> Vec<Issue> {
    let mut issues = Vec::new();
    if messages.is_empty() {
        issues.push(Issue::NoMessages);
        return issues;
    }
    let mut turn = 0;
    let mut out_of_order = false;
    for (index, m) in messages.iter().enumerate() {
        if m.content.trim().is_empty() {
            issues.push(Issue::EmptyContent { index });
        }
        if m.weight.is_some_and(|w| w > 1) {
            issues.push(Issue::BadWeight { index });
        }
        match m.role {
            Role::System if index > 0 => issues.push(Issue::MisplacedSystem { index }),
            Role::System => {}
            role => {
                let expected = if turn % 2 == 0 { Role::User } else { Role::Assistant };
                if role != expected && !out_of_order {
                    // One report is enough: everything after the first slip is out of step too.
                    issues.push(Issue::OutOfOrder { index, expected });
                    out_of_order = true;
                }
                turn += 1;
            }
        }
    }
    if messages.last().is_some_and(|m| m.role != Role::Assistant) {
        issues.push(Issue::LastNotAssistant);
    }
    issues
}

/// Reads one line of Mistral JSONL into turns, or says everything wrong with it.
pub fn parse_line(line: &str) -> Result<Vec<Message>, Vec<Issue>> {
    let value: Value = serde_json::from_str(line).map_err(|e| vec![Issue::NotJson { detail: e.to_string() }])?;
    let Some(object) = value.as_object() else {
        return Err(vec![Issue::NotJson { detail: "the line is JSON but not an object".into() }]);
    };
    let Some(list) = object.get("messages").and_then(Value::as_array) else { return Err(vec![Issue::NoMessageList]) };
    let mut issues = Vec::new();
    let mut messages = Vec::with_capacity(list.len());
    for (index, m) in list.iter().enumerate() {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("system") => Role::System,
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            other => {
                issues.push(Issue::BadRole { index, found: other.map(str::to_string) });
                continue;
            }
        };
        let Some(content) = m.get("content").and_then(Value::as_str) else {
            issues.push(Issue::ContentNotText { index });
            continue;
        };
        let weight = match m.get("weight") {
            None | Some(Value::Null) => None,
            Some(w) => match w.as_u64().or_else(|| w.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as u64)) {
                Some(w @ (0 | 1)) => Some(w as u8),
                _ => {
                    issues.push(Issue::BadWeight { index });
                    continue;
                }
            },
        };
        messages.push(Message { role, content: content.to_string(), weight });
    }
    if issues.is_empty() {
        issues = check_messages(&messages);
    }
    if issues.is_empty() { Ok(messages) } else { Err(issues) }
}

/// Calls `f` with the number (from 1) and text of every non-blank line; a line that is not UTF-8
/// comes as an `Err` with the reason.
pub(crate) fn for_each_line(
    mut reader: impl BufRead,
    mut f: impl FnMut(u32, std::result::Result<&str, String>) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::new();
    let mut number = 0u32;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(Error::Stream)? == 0 {
            return Ok(());
        }
        number += 1;
        match std::str::from_utf8(&buf) {
            Ok(text) if text.trim().is_empty() => {}
            Ok(text) => f(number, Ok(text.trim_end_matches(['\n', '\r'])))?,
            Err(e) => f(number, Err(format!("not UTF-8 ({e})")))?,
        }
    }
}

/// Checks every line of a Mistral fine-tuning file.
pub fn validate_jsonl(reader: impl BufRead, counter: &dyn TokenCounter) -> Result<ValidationReport> {
    let mut report = ValidationReport::default();
    for_each_line(reader, |line, text| {
        report.lines += 1;
        let parsed = text.map_err(|detail| vec![Issue::NotJson { detail }]).and_then(parse_line);
        match parsed {
            Ok(messages) => {
                report.valid += 1;
                let tokens = messages.iter().map(|m| counter.count(&m.content)).sum::<u32>();
                report.tokens += u64::from(tokens);
                report.max_tokens = report.max_tokens.max(tokens);
            }
            Err(issues) => report.issues.extend(issues.into_iter().map(|issue| LineIssue { line, issue })),
        }
        Ok(())
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(line: &str) -> Vec<Issue> {
        parse_line(line).err().unwrap_or_default()
    }

    #[test]
    fn accepts_a_well_formed_line() {
        let line = r#"{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"},{"role":"assistant","content":"a","weight":1}]}"#;
        let messages = parse_line(line).unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[2].weight, Some(1));
    }

    #[test]
    fn names_each_broken_rule() {
        assert!(matches!(issues("{oops").as_slice(), [Issue::NotJson { .. }]));
        assert_eq!(issues(r#"[1]"#), vec![Issue::NotJson { detail: "the line is JSON but not an object".into() }]);
        assert_eq!(issues(r#"{"text":"x"}"#), vec![Issue::NoMessageList]);
        assert_eq!(issues(r#"{"messages":[]}"#), vec![Issue::NoMessages]);
        assert_eq!(
            issues(r#"{"messages":[{"role":"tool","content":"x"}]}"#),
            vec![Issue::BadRole { index: 0, found: Some("tool".into()) }]
        );
        assert_eq!(issues(r#"{"messages":[{"role":"user","content":"u"},{"role":"assistant"}]}"#), vec![Issue::ContentNotText { index: 1 }]);
        assert_eq!(
            issues(r#"{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"  "}]}"#),
            vec![Issue::EmptyContent { index: 1 }]
        );
        assert_eq!(
            issues(r#"{"messages":[{"role":"user","content":"u"},{"role":"system","content":"s"},{"role":"assistant","content":"a"}]}"#),
            vec![Issue::MisplacedSystem { index: 1 }]
        );
        assert_eq!(
            issues(r#"{"messages":[{"role":"assistant","content":"a"},{"role":"user","content":"u"},{"role":"assistant","content":"a"}]}"#),
            vec![Issue::OutOfOrder { index: 0, expected: Role::User }]
        );
        assert_eq!(issues(r#"{"messages":[{"role":"user","content":"u"}]}"#), vec![Issue::LastNotAssistant]);
        assert_eq!(
            issues(r#"{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a","weight":2}]}"#),
            vec![Issue::BadWeight { index: 1 }]
        );
    }
}
