//! `blind_votes` and `prompt_presets`: what the Chat workspace's compare mode keeps in the project —
//! each blind pick between the base model and a run's adapter, and the named system prompts.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Result, Store, now};

pub(crate) const MIGRATION_6: &str = "
CREATE TABLE blind_votes (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL,
    winner      TEXT NOT NULL CHECK (winner IN ('base', 'tuned')),
    prompt      TEXT NOT NULL,
    base_reply  TEXT NOT NULL,
    tuned_reply TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX blind_votes_by_run ON blind_votes(run_id);
CREATE TABLE prompt_presets (
    name       TEXT PRIMARY KEY,
    prompt     TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
";

/// Schema 8: a blind pick may also be a tie or neither (the table is rebuilt to widen its check;
/// every earlier pick is kept).
pub(crate) const MIGRATION_8: &str = "
CREATE TABLE blind_votes_v8 (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL,
    winner      TEXT NOT NULL CHECK (winner IN ('base', 'tuned', 'tie', 'neither')),
    prompt      TEXT NOT NULL,
    base_reply  TEXT NOT NULL,
    tuned_reply TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
INSERT INTO blind_votes_v8 SELECT id, run_id, winner, prompt, base_reply, tuned_reply, created_at FROM blind_votes;
DROP TABLE blind_votes;
ALTER TABLE blind_votes_v8 RENAME TO blind_votes;
CREATE INDEX blind_votes_by_run ON blind_votes(run_id);
";

/// Which reply a person found more in character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Winner {
    /// The base model's.
    Base,
    /// The run's adapter's.
    Tuned,
    /// Both equally.
    Tie,
    /// Neither sounds like the persona.
    Neither,
}

impl Winner {
    fn as_str(self) -> &'static str {
        match self {
            Winner::Base => "base",
            Winner::Tuned => "tuned",
            Winner::Tie => "tie",
            Winner::Neither => "neither",
        }
    }
}

/// One blind pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVote<'a> {
    /// The run whose adapter made the tuned reply.
    pub run_id: &'a str,
    /// The reply picked.
    pub winner: Winner,
    /// The person's message both answered.
    pub prompt: &'a str,
    /// The base model's reply.
    pub base_reply: &'a str,
    /// The tuned reply.
    pub tuned_reply: &'a str,
}

/// The blind picks for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct VoteTally {
    /// Picks of the tuned reply.
    pub tuned: u32,
    /// Picks of the base reply.
    pub base: u32,
    /// Both equally in character.
    pub tie: u32,
    /// Neither in character.
    pub neither: u32,
}

/// A named system prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PromptPreset {
    /// Its name, unique in the project.
    pub name: String,
    /// The system prompt.
    pub prompt: String,
}

impl Store {
    /// Records a blind pick; returns its id.
    pub fn vote_insert(&self, vote: &NewVote<'_>) -> Result<i64> {
        self.conn().execute(
            "INSERT INTO blind_votes (run_id, winner, prompt, base_reply, tuned_reply, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![vote.run_id, vote.winner.as_str(), vote.prompt, vote.base_reply, vote.tuned_reply, now()],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// The picks for a run.
    pub fn vote_tally(&self, run_id: &str) -> Result<VoteTally> {
        Ok(self.conn().query_row(
            "SELECT COALESCE(SUM(winner = 'tuned'), 0), COALESCE(SUM(winner = 'base'), 0),
                    COALESCE(SUM(winner = 'tie'), 0), COALESCE(SUM(winner = 'neither'), 0)
             FROM blind_votes WHERE run_id = ?1",
            [run_id],
            |r| Ok(VoteTally { tuned: r.get(0)?, base: r.get(1)?, tie: r.get(2)?, neither: r.get(3)? }),
        )?)
    }

    /// Saves a preset (replacing one of the same name).
    pub fn preset_save(&self, preset: &PromptPreset) -> Result<()> {
        self.conn().execute(
            "INSERT INTO prompt_presets (name, prompt, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET prompt = excluded.prompt, updated_at = excluded.updated_at",
            params![preset.name, preset.prompt, now()],
        )?;
        Ok(())
    }

    /// Every preset, by name.
    pub fn presets(&self) -> Result<Vec<PromptPreset>> {
        let mut stmt = self.conn().prepare("SELECT name, prompt FROM prompt_presets ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok(PromptPreset { name: r.get(0)?, prompt: r.get(1)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deletes a preset.
    pub fn preset_delete(&self, name: &str) -> Result<()> {
        self.conn().execute("DELETE FROM prompt_presets WHERE name = ?1", [name])?;
        Ok(())
    }

    /// The characters who speak most often within `window` paragraphs of `persona`'s quotations,
    /// with how many of their quotations are that close, most first.
    pub fn co_speakers(&self, persona: &str, window: i64, limit: usize) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn().prepare(
            "SELECT o.speaker, COUNT(DISTINCT o.id) AS n
             FROM quotes p JOIN quotes o
               ON o.book_id = p.book_id AND o.paragraph BETWEEN p.paragraph - ?2 AND p.paragraph + ?2
             WHERE p.speaker = ?1 AND o.speaker IS NOT NULL AND o.speaker <> ?1
             GROUP BY o.speaker ORDER BY n DESC, o.speaker LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![persona, window, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Up to `limit` of a speaker's spoken lines of a sentence or two (book, start, end), the most
    /// confidently attributed first.
    pub fn quotes_of(&self, speaker: &str, limit: usize) -> Result<Vec<(i64, i64, i64)>> {
        let mut stmt = self.conn().prepare(
            "SELECT book_id, start, end FROM quotes WHERE speaker = ?1 AND role = 'speech' AND end - start BETWEEN 30 AND 260
             ORDER BY confidence DESC, book_id, start LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![speaker, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
