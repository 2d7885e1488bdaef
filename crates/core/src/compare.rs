//! What the Chat workspace's compare mode needs besides streaming (two [`crate::Service::chat`]
//! streams over one engine, one with a run's adapter): blind picks between the base model and a
//! run, system prompt presets, a drafted system prompt for the persona, and sending a reply to the
//! review store.

use std::path::Path;

use grimoire_store::table::compare::{NewVote, PromptPreset, VoteTally, Winner};
use grimoire_store::table::examples::{Message, NewExample, Role, Strategy};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::chat::{ChatMessage, ChatRole};
use crate::review::review_for;
use crate::service::{absolute, lock};
use crate::{Error, ProjectRef, Result, RunRef};

/// The tag of examples that come from a chat.
pub const CHAT_TAG: &str = "chat";

/// Input of [`crate::Service::record_blind_vote`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BlindVoteInput {
    /// The project folder.
    pub project: String,
    /// The run whose adapter made the tuned reply.
    pub run_id: String,
    /// The reply the person found more in character.
    pub winner: Winner,
    /// The person's message.
    pub prompt: String,
    /// The base model's reply.
    pub base_reply: String,
    /// The tuned reply.
    pub tuned_reply: String,
}

/// Input of [`crate::Service::save_prompt_preset`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SavePresetInput {
    /// The project folder.
    pub project: String,
    /// The preset.
    pub preset: PromptPreset,
}

/// Input of [`crate::Service::delete_prompt_preset`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresetRef {
    /// The project folder.
    pub project: String,
    /// The preset's name.
    pub name: String,
}

/// Input of [`crate::Service::reply_to_review`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReplyToReviewInput {
    /// The project folder.
    pub project: String,
    /// The conversation up to and including the reply (which must be the model's).
    pub messages: Vec<ChatMessage>,
}

/// Characters named as the persona's company in a drafted prompt.
const CO_SPEAKERS: usize = 5;
/// Lines quoted as a sample of how the persona speaks.
const SAMPLE_LINES: usize = 4;
/// Paragraphs either side of a persona's line in which another speaker counts as company.
const NEARBY: i64 = 2;

impl crate::Service {
    /// Records a blind pick and returns the run's tally.
    pub fn record_blind_vote(&self, input: BlindVoteInput) -> Result<VoteTally> {
        if input.run_id.trim().is_empty() {
            return Err(Error::InvalidInput("a blind vote needs the run it compares".into()));
        }
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        store.vote_insert(&NewVote {
            run_id: &input.run_id,
            winner: input.winner,
            prompt: &input.prompt,
            base_reply: &input.base_reply,
            tuned_reply: &input.tuned_reply,
        })?;
        Ok(store.vote_tally(&input.run_id)?)
    }

    /// How often blind picks preferred a run over the base model.
    pub fn blind_tally(&self, input: RunRef) -> Result<VoteTally> {
        let store = self.store(&absolute(&input.project)?)?;
        Ok(lock(&store).vote_tally(&input.run_id)?)
    }

    /// The project's system prompt presets, by name.
    pub fn prompt_presets(&self, input: ProjectRef) -> Result<Vec<PromptPreset>> {
        let store = self.store(&absolute(&input.path)?)?;
        Ok(lock(&store).presets()?)
    }

    /// Saves a preset (replacing one of the same name); returns them all.
    pub fn save_prompt_preset(&self, input: SavePresetInput) -> Result<Vec<PromptPreset>> {
        let name = input.preset.name.trim();
        if name.is_empty() {
            return Err(Error::InvalidInput("a preset needs a name".into()));
        }
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        store.preset_save(&PromptPreset { name: name.to_owned(), prompt: input.preset.prompt })?;
        Ok(store.presets()?)
    }

    /// Deletes a preset; returns the rest.
    pub fn delete_prompt_preset(&self, input: PresetRef) -> Result<Vec<PromptPreset>> {
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        store.preset_delete(&input.name)?;
        Ok(store.presets()?)
    }

    /// Adds a conversation up to one of the model's replies to the review store, as a pending
    /// example tagged `chat` (flags computed as for any other); returns its id.
    pub fn reply_to_review(&self, input: ReplyToReviewInput) -> Result<i64> {
        if input.messages.last().is_none_or(|m| m.role != ChatRole::Assistant) {
            return Err(Error::InvalidInput("the conversation must end with the model's reply".into()));
        }
        if !input.messages.iter().any(|m| m.role == ChatRole::User) {
            return Err(Error::InvalidInput("the conversation has no message from the person".into()));
        }
        let messages = input
            .messages
            .into_iter()
            .filter(|m| !(m.role == ChatRole::System && m.content.trim().is_empty()))
            .map(|m| Message {
                role: match m.role {
                    ChatRole::System => Role::System,
                    ChatRole::User => Role::User,
                    ChatRole::Assistant => Role::Assistant,
                },
                content: m.content,
                weight: None,
            })
            .collect();
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let mut new = NewExample::new(Strategy::Imported, messages);
        new.tags.push(CHAT_TAG.to_owned());
        Ok(review_for(&store, Path::new(&self.settings()?.model_dir))?.insert(new)?)
    }

    /// A system prompt for the persona drafted from the books: who they are, the people they talk
    /// with most, and a few of their lines as a sample of how they speak. Meant to be edited.
    pub fn draft_system_prompt(&self, input: ProjectRef) -> Result<String> {
        let store = self.store(&absolute(&input.path)?)?;
        let store = lock(&store);
        let meta = store.project_meta()?;
        let Some(persona) = meta.persona.filter(|p| !p.trim().is_empty()) else {
            return Err(Error::InvalidInput("choose the persona in Sources first".into()));
        };
        let books = store.books()?;
        let character = store.characters()?.into_iter().find(|c| c.name == persona);
        let mut out = format!("You are {persona}");
        match books.first() {
            Some(b) if b.author.as_deref().is_some_and(|a| !a.trim().is_empty()) => {
                out.push_str(&format!(", from {} by {}", b.title, b.author.as_deref().unwrap_or_default()))
            }
            Some(b) => out.push_str(&format!(", from {}", b.title)),
            None => {}
        }
        out.push('.');
        if let Some(c) = &character {
            let aliases: Vec<&str> = c.aliases.iter().map(String::as_str).filter(|a| *a != persona).take(3).collect();
            if !aliases.is_empty() {
                out.push_str(&format!(" People also call you {}.", list(&aliases)));
            }
        }
        let company = store.co_speakers(&persona, NEARBY, CO_SPEAKERS)?;
        if !company.is_empty() {
            let names: Vec<&str> = company.iter().map(|(n, _)| n.as_str()).collect();
            out.push_str(&format!(" The people you talk with most are {}.", list(&names)));
        }
        out.push_str(&format!(
            " Answer as {persona} would, in the first person, in your own voice and manner, and stay in character; \
             you know nothing of events after your story."
        ));
        let mut samples = Vec::new();
        let mut texts = std::collections::HashMap::new();
        for (book_id, start, end) in store.quotes_of(&persona, SAMPLE_LINES * 3)? {
            if samples.len() == SAMPLE_LINES {
                break;
            }
            let text = match texts.entry(book_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(store.book(book_id)?.text),
            };
            let line: String = text.chars().skip(start.max(0) as usize).take((end - start).max(0) as usize).collect();
            let line = line.trim().trim_matches(|c| matches!(c, '"' | '“' | '”' | '\'' | '‘' | '’')).trim().to_owned();
            if !line.is_empty() && !samples.contains(&line) {
                samples.push(line);
            }
        }
        if !samples.is_empty() {
            out.push_str("\n\nHow you speak, in your own words:");
            for s in samples {
                out.push_str(&format!("\n- \"{s}\""));
            }
        }
        Ok(out)
    }
}

/// "A", "A and B", "A, B and C".
fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_listed_as_in_a_sentence() {
        assert_eq!(super::list(&["Jane"]), "Jane");
        assert_eq!(super::list(&["Jane", "Darcy"]), "Jane and Darcy");
        assert_eq!(super::list(&["Jane", "Darcy", "Mr. Bennet"]), "Jane, Darcy and Mr. Bennet");
    }
}
