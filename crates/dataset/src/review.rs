//! The review operations the service layer calls: adding and editing examples with their flags
//! computed, so that the store never holds an example whose flags are stale.

use grimoire_store::Store;
use grimoire_store::table::examples::{Body, Example, ExampleEdit, Message, NewExample, QualityFlag, SourceSpan, Status, Strategy};

use crate::Result;
use crate::faithful::source_flags;
use crate::flags::{FlagRules, Persona, derive};
use crate::tokens::TokenCounter;

/// A project's examples seen through the data set rules: a store connection, the persona, the flag
/// thresholds and the tokenizer.
pub struct Review<'a> {
    store: &'a Store,
    persona: Option<Persona>,
    rules: FlagRules,
    counter: &'a dyn TokenCounter,
}

impl std::fmt::Debug for Review<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Review").field("persona", &self.persona).field("rules", &self.rules).finish_non_exhaustive()
    }
}

impl<'a> Review<'a> {
    /// Review over `store`, counting tokens with `counter`, with default rules and no persona.
    pub fn new(store: &'a Store, counter: &'a dyn TokenCounter) -> Self {
        Self { store, persona: None, rules: FlagRules::default(), counter }
    }

    /// Sets the persona whose name the third-person and addressed-by-name flags look for; examples
    /// inserted without a persona get this one's name.
    pub fn with_persona(mut self, persona: Persona) -> Self {
        self.persona = Some(persona);
        self
    }

    /// Sets the flag thresholds.
    pub fn with_rules(mut self, rules: FlagRules) -> Self {
        self.rules = rules;
        self
    }

    /// The store.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    fn persona_for(&self, name: Option<&str>) -> Option<Persona> {
        match (name, &self.persona) {
            (Some(name), Some(p)) if p.name == name => Some(p.clone()),
            (Some(name), _) => Some(Persona { name: name.to_string(), aliases: Vec::new() }),
            (None, p) => p.clone(),
        }
    }

    /// Adds one example, computing its flags, length and fingerprint; returns its id.
    pub fn insert(&self, new: NewExample) -> Result<i64> {
        Ok(self.insert_many(vec![new])?.into_iter().next().unwrap_or_default())
    }

    /// Adds examples in one transaction (duplicates within the batch are found too); returns their ids.
    pub fn insert_many(&self, examples: Vec<NewExample>) -> Result<Vec<i64>> {
        self.store.write_transaction(|store| {
            let mut ids = Vec::with_capacity(examples.len());
            for mut new in examples {
                if new.persona.is_none() {
                    new.persona = self.persona.as_ref().map(|p| p.name.clone());
                }
                let persona = self.persona_for(new.persona.as_deref());
                // Flags measured against the source passage come from the caller, who has the passage.
                let from_source: Vec<_> = new.derived.flags.iter().copied().filter(|f| f.needs_source()).collect();
                new.derived = derive(store, &new.messages, persona.as_ref(), None, &self.rules, self.counter)?;
                merge_flags(&mut new.derived.flags, from_source);
                ids.push(store.example_insert(&new)?);
            }
            Ok(ids)
        })
    }

    /// Edits an example as one undoable action: any of new turns (flags recomputed), status and tags.
    pub fn edit(
        &self,
        id: i64,
        messages: Option<Vec<Message>>,
        status: Option<Status>,
        tags: Option<Vec<String>>,
        label: &str,
    ) -> Result<Example> {
        self.store.write_transaction(|store| {
            let body = match messages {
                Some(messages) => {
                    let current = store.example(id)?;
                    let persona = self.persona_for(current.persona.as_deref());
                    let mut derived = derive(store, &messages, persona.as_ref(), Some(id), &self.rules, self.counter)?;
                    if matches!(current.strategy, Strategy::B | Strategy::C) && !current.spans.is_empty() {
                        let source = source_text(store, &current.spans)?;
                        merge_flags(&mut derived.flags, source_flags(&messages, &source, persona.as_ref()));
                    }
                    Some(Body { messages, derived })
                }
                None => None,
            };
            Ok(store.example_edit(id, &ExampleEdit { status, tags, body }, label)?)
        })
    }

    /// Replaces an example's turns (the grid's in-place edit, adding or deleting a turn, editing the
    /// system prompt), recomputing its flags.
    pub fn edit_messages(&self, id: i64, messages: Vec<Message>) -> Result<Example> {
        self.edit(id, Some(messages), None, None, "Edit turns")
    }

    /// Computes the flags of one example again (after the rules or the persona changed), as an
    /// undoable edit when they differ.
    pub fn recheck(&self, id: i64) -> Result<Example> {
        let current = self.store.example(id)?;
        self.edit(id, Some(current.messages), None, None, "Recheck flags")
    }
}

fn merge_flags(flags: &mut Vec<QualityFlag>, more: Vec<QualityFlag>) {
    for f in more {
        if !flags.contains(&f) {
            flags.push(f);
        }
    }
    flags.sort_by_key(|f| f.bit());
}

/// The text an example was drawn from: its spans' text, in order, a blank line between them.
pub fn source_text(store: &Store, spans: &[SourceSpan]) -> Result<String> {
    let mut out = Vec::with_capacity(spans.len());
    let mut book: Option<(i64, Vec<char>)> = None;
    for span in spans {
        if book.as_ref().is_none_or(|(id, _)| *id != span.book_id) {
            book = Some((span.book_id, store.book(span.book_id)?.text.chars().collect()));
        }
        if let Some((_, chars)) = &book {
            let (start, end) = (span.start.max(0) as usize, (span.end.max(0) as usize).min(chars.len()));
            out.push(chars.get(start..end.max(start)).map(|c| c.iter().collect::<String>()).unwrap_or_default());
        }
    }
    Ok(out.join("\n\n"))
}
