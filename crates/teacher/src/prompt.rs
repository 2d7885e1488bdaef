//! The prompts: minijinja templates, editable and versioned; the template a request was rendered from
//! is stored with every example it made.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::error::Result;
use crate::provider::{Request, Turn};

/// What a teacher is asked to do with a passage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// Strategy B: retell the passage as the persona's first-person account, with a question it answers.
    Rewrite,
    /// Strategy C: question–answer pairs in the persona's voice, grounded in the passage.
    Qa {
        /// How many pairs per passage.
        pairs: u32,
    },
}

impl Task {
    /// The name of its default template.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Rewrite => "rewrite",
            Task::Qa { .. } => "qa",
        }
    }
}

/// A prompt template: a system message and a user message, rendered with minijinja. Variables:
/// `persona`, `aliases` (list), `book`, `chapter`, `passage`, `pairs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PromptTemplate {
    /// `rewrite`, `qa`, or a name of the person's own.
    pub name: String,
    /// Goes up by one each time the text changes.
    pub version: u32,
    /// The system message.
    pub system: String,
    /// The user message.
    pub user: String,
}

const SYSTEM: &str = "You turn passages of a novel into training data for a model that speaks as one of its \
characters. You are faithful to the text and answer with JSON only.";

const REWRITE_USER: &str = r#"A passage from {{ book }}{% if chapter %}, {{ chapter }}{% endif %}:

<passage>
{{ passage }}
</passage>

Retell this passage as {{ persona }}'s own account, in the first person ("I", "me", "my"), as {{ persona }} would tell it to someone who asked{% if aliases %} ({{ persona }} is also called {{ aliases | join(", ") }}){% endif %}. Keep {{ persona }}'s emotions, observations and inner thoughts as the passage gives them. Add nothing that is not in the passage: no new names, places, events or numbers. Other people stay in the third person, and {{ persona }} never names themselves.

Then write the question someone might naturally ask {{ persona }}, addressing them as "you", that this account answers.

Answer with one JSON object and nothing else:
{"question": "...", "account": "..."}"#;

const QA_USER: &str = r#"A passage from {{ book }}{% if chapter %}, {{ chapter }}{% endif %}:

<passage>
{{ passage }}
</passage>

Write {{ pairs }} question{% if pairs != 1 %}s{% endif %} that someone talking with {{ persona }}{% if aliases %} (also called {{ aliases | join(", ") }}){% endif %} might ask them about what happens in this passage, addressing them as "you", and {{ persona }}'s answer to each: in the first person, in their own voice, using only what the passage says. Add no names, places, events or numbers that the passage does not have.

Answer with one JSON object and nothing else:
{"pairs": [{"question": "...", "answer": "..."}]}"#;

/// The template a task uses unless the person wrote their own.
pub fn default_template(task: &Task) -> PromptTemplate {
    let user = match task {
        Task::Rewrite => REWRITE_USER,
        Task::Qa { .. } => QA_USER,
    };
    PromptTemplate {
        name: task.name().to_string(),
        version: 1,
        system: SYSTEM.to_string(),
        user: user.to_string(),
    }
}

/// What a template is rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct PromptContext<'a> {
    /// The persona's name.
    pub persona: &'a str,
    /// Their other names.
    pub aliases: &'a [String],
    /// The book's title.
    pub book: &'a str,
    /// The chapter's title, if any.
    pub chapter: Option<&'a str>,
    /// The passage.
    pub passage: &'a str,
    /// Pairs asked for (strategy C).
    pub pairs: u32,
}

/// Renders a template into the messages of a request.
pub fn render(template: &PromptTemplate, context: &PromptContext<'_>) -> Result<Vec<Turn>> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let mut turns = Vec::with_capacity(2);
    if !template.system.trim().is_empty() {
        turns.push(Turn::new(
            "system",
            env.render_str(&template.system, context)?,
        ));
    }
    turns.push(Turn::new("user", env.render_str(&template.user, context)?));
    Ok(turns)
}

/// The cache key of a request to a provider: a SHA-256 over who answers and everything they are
/// asked, so that the same question to the same model is paid for once.
pub fn cache_key(provider_identity: &str, request: &Request) -> String {
    let mut h = Sha256::new();
    h.update(provider_identity.as_bytes());
    h.update([0]);
    let keyed = Request {
        task: None,
        ..request.clone()
    };
    // Serialising a plain struct cannot fail; an empty body would still give a stable key.
    h.update(serde_json::to_vec(&keyed).unwrap_or_default());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(aliases: &'a [String]) -> PromptContext<'a> {
        PromptContext {
            persona: "Elizabeth Bennet",
            aliases,
            book: "Pride and Prejudice",
            chapter: Some("Chapter 7"),
            passage: "She walked.",
            pairs: 3,
        }
    }

    #[test]
    fn defaults_render_with_every_variable() {
        let aliases = vec!["Lizzy".to_string(), "Eliza".to_string()];
        let turns = render(&default_template(&Task::Rewrite), &ctx(&aliases)).unwrap();
        assert_eq!(turns[0].role, "system");
        assert!(
            turns[1]
                .content
                .contains("<passage>\nShe walked.\n</passage>"),
            "{}",
            turns[1].content
        );
        assert!(turns[1].content.contains("also called Lizzy, Eliza"));
        assert!(turns[1].content.contains("Pride and Prejudice, Chapter 7"));
        let turns = render(&default_template(&Task::Qa { pairs: 3 }), &ctx(&[])).unwrap();
        assert!(turns[1].content.contains("Write 3 questions"));
        assert!(!turns[1].content.contains("also called"));
    }

    #[test]
    fn a_broken_template_is_an_error_and_keys_follow_the_content() {
        let bad = PromptTemplate {
            name: "x".into(),
            version: 1,
            system: String::new(),
            user: "{{ persona ".into(),
        };
        assert!(render(&bad, &ctx(&[])).is_err());
        let unknown = PromptTemplate {
            user: "{{ nobody }}".into(),
            ..bad
        };
        assert!(
            render(&unknown, &ctx(&[])).is_err(),
            "unknown variables are errors, not blanks"
        );
        let req = |text: &str| Request {
            messages: vec![Turn::new("user", text)],
            max_tokens: 10,
            temperature: 0.3,
            json: true,
            task: None,
        };
        assert_eq!(cache_key("a", &req("x")), cache_key("a", &req("x")));
        let with_task = Request {
            task: Some(Task::Rewrite),
            ..req("x")
        };
        assert_eq!(
            cache_key("a", &with_task),
            cache_key("a", &req("x")),
            "the task is not part of the key: caches made before it existed still answer"
        );
        assert_ne!(cache_key("a", &req("x")), cache_key("b", &req("x")));
        assert_ne!(cache_key("a", &req("x")), cache_key("a", &req("y")));
    }
}
