//! Changing examples: single edits, bulk actions, and undo/redo per example and across the person's
//! actions. Every change is a new revision; nothing is overwritten that cannot be brought back.

use rusqlite::{OptionalExtension, params, params_from_iter};
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::query::ExampleFilter;
use super::{Derived, Example, Message, QualityFlag, Status, decode_i64s, encode_i64s, encode_u32s, to_json};
use crate::{Error, Result, Store, now};

/// New turns for an example, with what `grimoire-dataset` derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The turns.
    pub messages: Vec<Message>,
    /// Flags, length and fingerprint of those turns.
    pub derived: Derived,
}

/// A change to one example; `None` fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExampleEdit {
    /// A new status.
    pub status: Option<Status>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New turns.
    pub body: Option<Body>,
}

/// The examples a bulk action applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// These examples (a selection in the grid).
    Ids(Vec<i64>),
    /// Everything this filter matches when the action runs.
    Filter(ExampleFilter),
}

/// What a bulk action does to each example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BulkOp {
    /// Set the status.
    SetStatus(Status),
    /// Add a tag.
    AddTag(String),
    /// Remove a tag.
    RemoveTag(String),
}

/// What a bulk action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BulkOutcome {
    /// The action on the undo stack; `None` when nothing needed to change.
    pub action_id: Option<i64>,
    /// How many examples changed (those already in the wanted state are left alone).
    pub changed: u32,
}

/// One entry of the person's undo stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Action {
    /// Its id.
    pub id: i64,
    /// `edit` or `bulk`.
    pub kind: String,
    /// What the person did, for the Undo menu ("Approve 1,204 examples").
    pub label: String,
    /// How many examples it changed.
    pub count: u32,
    /// Whether it is undone now (and can be redone).
    pub undone: bool,
    /// When it was done.
    pub created_at: String,
}

/// What undo and redo would do next.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct UndoState {
    /// The action that undo would revert.
    pub undo: Option<Action>,
    /// The action that redo would apply again.
    pub redo: Option<Action>,
}

/// What an undo or redo did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UndoOutcome {
    /// The action reverted or re-applied.
    pub action: Action,
    /// Examples restored.
    pub restored: u32,
    /// Examples left alone because they changed again since (by a later per-example undo, say).
    pub skipped: u32,
}

/// One state an example has been in, for its history panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Revision {
    /// Its id.
    pub id: i64,
    /// The state it was made from.
    pub parent_id: Option<i64>,
    /// The action that made it (`None` for the first state, made by a job or an import).
    pub action_id: Option<i64>,
    /// When.
    pub created_at: String,
    /// The status in this state.
    pub status: Status,
    /// The tags in this state.
    pub tags: Vec<String>,
    /// Whether the turns changed in this revision.
    pub changed_turns: bool,
    /// Whether the example is in this state now.
    pub current: bool,
}

const ACTION_COLUMNS: &str = "id, kind, label, count, state, created_at";

fn action_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Action> {
    Ok(Action {
        id: r.get(0)?,
        kind: r.get(1)?,
        label: r.get(2)?,
        count: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(u32::MAX),
        undone: r.get::<_, String>(4)? == "undone",
        created_at: r.get(5)?,
    })
}

/// The columns of a revision that make up an example's state, in `examples` column order.
const STATE_COLUMNS: &str = "status, tags, flags, dup_of, token_len, exact_hash";

impl Store {
    fn action_begin(&self, kind: &str, label: &str) -> Result<i64> {
        self.conn().execute(
            "INSERT INTO review_actions (kind, label, state, created_at) VALUES (?1, ?2, 'done', ?3)",
            params![kind, label, now()],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Records that action `id` changed `count` examples through revisions `first..=last`; a new
    /// action ends the redo stack.
    fn action_commit(&self, id: i64, count: u32, first: i64, last: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE review_actions SET count = ?2, first_rev = ?3, last_rev = ?4 WHERE id = ?1",
            params![id, count, first, last],
        )?;
        self.conn().execute("UPDATE review_actions SET state = 'dropped' WHERE state = 'undone'", [])?;
        Ok(())
    }

    /// Edits one example as one undoable action labelled `label`, and returns it as it is now. An edit
    /// that changes nothing records nothing.
    pub fn example_edit(&self, id: i64, edit: &ExampleEdit, label: &str) -> Result<Example> {
        self.write_transaction(|s| {
            let current = s.example(id)?;
            let status = edit.status.unwrap_or(current.status);
            let tags = edit.tags.as_ref().unwrap_or(&current.tags);
            let body = edit.body.as_ref().filter(|b| {
                b.messages != current.messages
                    || QualityFlag::mask(&b.derived.flags) != QualityFlag::mask(&current.flags)
                    || b.derived.token_len != current.token_len
                    || b.derived.duplicate_of != current.duplicate_of
            });
            if status == current.status && *tags == current.tags && body.is_none() {
                return Ok(current);
            }
            let action = s.action_begin("edit", label)?;
            let tags_json = to_json(tags)?;
            let at = now();
            let rev;
            match body {
                Some(b) => {
                    let d = &b.derived;
                    let fp = d.fingerprint.as_ref();
                    let messages = to_json(&b.messages)?;
                    let signature = fp.map(|f| encode_u32s(&f.signature));
                    s.conn().execute(
                        "INSERT INTO example_revisions (example_id, parent_id, action_id, created_at, status, tags,
                            flags, dup_of, token_len, exact_hash, messages, signature, bands)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                        params![
                            id,
                            current.revision,
                            action,
                            at,
                            status.as_str(),
                            tags_json,
                            QualityFlag::mask(&d.flags),
                            d.duplicate_of,
                            i64::from(d.token_len),
                            fp.map(|f| f.exact),
                            messages,
                            signature,
                            fp.map(|f| encode_i64s(&f.bands)),
                        ],
                    )?;
                    rev = s.conn().last_insert_rowid();
                    s.conn().execute(
                        "UPDATE example_bodies SET messages = ?2, signature = ?3 WHERE example_id = ?1",
                        params![id, messages, signature],
                    )?;
                    s.set_bands(id, fp.map(|f| f.bands.as_slice()).unwrap_or_default())?;
                    s.apply_revision(id, rev, false)?;
                }
                None => {
                    s.conn().execute(
                        "INSERT INTO example_revisions (example_id, parent_id, action_id, created_at, status, tags,
                            flags, dup_of, token_len, exact_hash, body_rev)
                         SELECT id, rev_id, ?2, ?3, ?4, ?5, flags, dup_of, token_len, exact_hash, body_rev
                         FROM examples WHERE id = ?1",
                        params![id, action, at, status.as_str(), tags_json],
                    )?;
                    rev = s.conn().last_insert_rowid();
                    s.apply_revision(id, rev, false)?;
                }
            }
            s.action_commit(action, 1, rev, rev)?;
            s.example(id)
        })
    }

    /// Puts example `id` in the state of revision `rev` (the body too when `with_body`).
    fn apply_revision(&self, id: i64, rev: i64, with_body: bool) -> Result<()> {
        self.conn().execute(
            &format!(
                "UPDATE examples SET ({STATE_COLUMNS}, rev_id, body_rev, updated_at) =
                   (SELECT {STATE_COLUMNS}, id, coalesce(body_rev, id), ?3 FROM example_revisions WHERE id = ?2)
                 WHERE id = ?1"
            ),
            params![id, rev, now()],
        )?;
        if with_body {
            self.restore_body(id)?;
        }
        Ok(())
    }

    /// Writes the turns, signature and band keys of the revision `examples.body_rev` points at.
    fn restore_body(&self, id: i64) -> Result<()> {
        let (messages, signature, bands): (String, Option<Vec<u8>>, Option<Vec<u8>>) = self
            .conn()
            .prepare_cached(
                "SELECT r.messages, r.signature, r.bands FROM examples e
                   JOIN example_revisions r ON r.id = e.body_rev WHERE e.id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(|| Error::Malformed(format!("the turns of example {id} are missing from its history")))?;
        self.conn().execute(
            "UPDATE example_bodies SET messages = ?2, signature = ?3 WHERE example_id = ?1 AND messages != ?2",
            params![id, messages, signature],
        )?;
        self.set_bands(id, &bands.map(|b| decode_i64s(&b)).unwrap_or_default())
    }

    /// Applies `op` to every example `target` names, as one undoable action in one transaction.
    /// Examples already in the wanted state are not touched.
    pub fn examples_bulk(&self, target: &Target, op: &BulkOp, label: &str) -> Result<BulkOutcome> {
        self.write_transaction(|s| {
            let mut w = match target {
                Target::Filter(filter) => filter.to_where(),
                Target::Ids(ids) => {
                    let mut w = ExampleFilter::all().to_where();
                    w.push("e.id IN (SELECT value FROM json_each(?))", [Value::Text(to_json(ids)?)]);
                    w
                }
            };
            let (status, tags) = match op {
                BulkOp::SetStatus(status) => {
                    w.push("e.status != ?", [Value::Text(status.as_str().into())]);
                    ("?", "e.tags")
                }
                BulkOp::AddTag(tag) => {
                    w.push("NOT EXISTS (SELECT 1 FROM json_each(e.tags) WHERE value = ?)", [Value::Text(tag.clone())]);
                    ("e.status", "json_insert(e.tags, '$[#]', ?)")
                }
                BulkOp::RemoveTag(tag) => {
                    w.push("EXISTS (SELECT 1 FROM json_each(e.tags) WHERE value = ?)", [Value::Text(tag.clone())]);
                    ("e.status", "(SELECT json_group_array(value) FROM json_each(e.tags) WHERE value != ?)")
                }
            };
            let op_value = match op {
                BulkOp::SetStatus(status) => Value::Text(status.as_str().into()),
                BulkOp::AddTag(tag) | BulkOp::RemoveTag(tag) => Value::Text(tag.clone()),
            };
            let action = s.action_begin("bulk", label)?;
            let at = now();
            let before: i64 = s.conn().query_row("SELECT coalesce(max(id), 0) FROM example_revisions", [], |r| r.get(0))?;
            // Parameters in the order they appear: action, time, the new value, then the filter's.
            let mut values = vec![Value::Integer(action), Value::Text(at.clone()), op_value];
            values.extend(w.params);
            let changed = s.conn().execute(
                &format!(
                    "INSERT INTO example_revisions (example_id, parent_id, action_id, created_at, status, tags,
                        flags, dup_of, token_len, exact_hash, body_rev)
                     SELECT e.id, e.rev_id, ?, ?, {status}, {tags}, e.flags, e.dup_of, e.token_len, e.exact_hash,
                        e.body_rev
                     FROM examples e WHERE {}",
                    w.sql
                ),
                params_from_iter(values),
            )?;
            if changed == 0 {
                s.conn().execute("DELETE FROM review_actions WHERE id = ?1", [action])?;
                return Ok(BulkOutcome { action_id: None, changed: 0 });
            }
            // One statement under the write lock: its revisions are exactly the ids after `before`.
            let last = s.conn().last_insert_rowid();
            s.conn().execute(
                "UPDATE examples SET status = r.status, tags = r.tags, rev_id = r.id, updated_at = r.created_at
                 FROM example_revisions r WHERE r.id > ?1 AND r.id <= ?2 AND r.example_id = examples.id",
                params![before, last],
            )?;
            let changed = u32::try_from(changed).unwrap_or(u32::MAX);
            s.action_commit(action, changed, before + 1, last)?;
            Ok(BulkOutcome { action_id: Some(action), changed })
        })
    }

    /// The next action undo and redo would act on.
    pub fn review_undo_state(&self) -> Result<UndoState> {
        let one = |sql: &str| -> Result<Option<Action>> {
            Ok(self.conn().prepare_cached(sql)?.query_row([], action_from_row).optional()?)
        };
        Ok(UndoState {
            undo: one(&format!(
                "SELECT {ACTION_COLUMNS} FROM review_actions WHERE state = 'done' ORDER BY id DESC LIMIT 1"
            ))?,
            redo: one(&format!(
                "SELECT {ACTION_COLUMNS} FROM review_actions WHERE state = 'undone' ORDER BY id ASC LIMIT 1"
            ))?,
        })
    }

    /// The person's most recent actions, newest first.
    pub fn review_actions(&self, limit: u32) -> Result<Vec<Action>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {ACTION_COLUMNS} FROM review_actions WHERE state != 'dropped' ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], action_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Reverts the person's latest action that is not undone yet (all the examples it changed, in one
    /// transaction). `None` when there is nothing to undo.
    pub fn review_undo(&self) -> Result<Option<UndoOutcome>> {
        self.write_transaction(|s| {
            let Some(action) = s.review_undo_state()?.undo else { return Ok(None) };
            // Examples still in the state this action made go back to the state before it.
            let (restored, skipped) = s.move_action(action.id, "r.id", "r.parent_id")?;
            s.conn().execute("UPDATE review_actions SET state = 'undone' WHERE id = ?1", [action.id])?;
            Ok(Some(UndoOutcome { action: Action { undone: true, ..action }, restored, skipped }))
        })
    }

    /// Applies again the earliest undone action. `None` when there is nothing to redo.
    pub fn review_redo(&self) -> Result<Option<UndoOutcome>> {
        self.write_transaction(|s| {
            let Some(action) = s.review_undo_state()?.redo else { return Ok(None) };
            let (restored, skipped) = s.move_action(action.id, "r.parent_id", "r.id")?;
            s.conn().execute("UPDATE review_actions SET state = 'done' WHERE id = ?1", [action.id])?;
            Ok(Some(UndoOutcome { action: Action { undone: false, ..action }, restored, skipped }))
        })
    }

    /// Moves every example that action `action` touched from revision `from` to revision `to` (SQL
    /// over `example_revisions r`), when it is still at `from`. Returns (moved, skipped).
    fn move_action(&self, action: i64, from: &str, to: &str) -> Result<(u32, u32)> {
        let (first, last, total): (i64, i64, i64) = self.conn().query_row(
            "SELECT first_rev, last_rev, count FROM review_actions WHERE id = ?1",
            [action],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        // Turns first, while `examples.rev_id` still says which examples qualify.
        let body_changes: Vec<(i64, i64)> = {
            let mut stmt = self.conn().prepare_cached(&format!(
                "SELECT r.example_id, coalesce(t.body_rev, t.id) FROM example_revisions r
                   JOIN examples e ON e.id = r.example_id AND e.rev_id = {from}
                   JOIN example_revisions t ON t.id = {to}
                 WHERE r.id BETWEEN ?1 AND ?2 AND e.body_rev != coalesce(t.body_rev, t.id)"
            ))?;
            let rows = stmt.query_map([first, last], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let moved = self.conn().execute(
            &format!(
                "UPDATE examples SET status = t.status, tags = t.tags, flags = t.flags, dup_of = t.dup_of,
                    token_len = t.token_len, exact_hash = t.exact_hash, rev_id = t.id,
                    body_rev = coalesce(t.body_rev, t.id), updated_at = ?3
                 FROM example_revisions r JOIN example_revisions t ON t.id = {to}
                 WHERE r.id BETWEEN ?1 AND ?2 AND r.example_id = examples.id AND examples.rev_id = {from}"
            ),
            params![first, last, now()],
        )?;
        for (id, _) in body_changes {
            self.restore_body(id)?;
        }
        let moved = u32::try_from(moved).unwrap_or(u32::MAX);
        Ok((moved, u32::try_from(total).unwrap_or(u32::MAX).saturating_sub(moved)))
    }

    /// Moves one example back to the state before its current one. Per-example undo does not touch the
    /// global stack. `None` when the example is in its first state.
    pub fn example_undo(&self, id: i64) -> Result<Option<Example>> {
        self.write_transaction(|s| {
            let parent: Option<i64> = s
                .conn()
                .query_row(
                    "SELECT r.parent_id FROM examples e JOIN example_revisions r ON r.id = e.rev_id WHERE e.id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(Error::Missing { what: "example", id })?;
            let Some(parent) = parent else { return Ok(None) };
            s.apply_revision(id, parent, true)?;
            Ok(Some(s.example(id)?))
        })
    }

    /// Moves one example forward to the newest state made from its current one (what the last undo
    /// left). `None` when there is none.
    pub fn example_redo(&self, id: i64) -> Result<Option<Example>> {
        self.write_transaction(|s| {
            let child: Option<i64> = s
                .conn()
                .query_row(
                    "SELECT r.id FROM examples e JOIN example_revisions r ON r.example_id = e.id AND r.parent_id = e.rev_id
                     WHERE e.id = ?1 ORDER BY r.id DESC LIMIT 1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(child) = child else { return Ok(None) };
            s.apply_revision(id, child, true)?;
            Ok(Some(s.example(id)?))
        })
    }

    /// Every state an example has been in, oldest first.
    pub fn example_revisions(&self, id: i64) -> Result<Vec<Revision>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT r.id, r.parent_id, r.action_id, r.created_at, r.status, r.tags, r.body_rev IS NULL,
                    r.id = e.rev_id
             FROM example_revisions r JOIN examples e ON e.id = r.example_id
             WHERE r.example_id = ?1 ORDER BY r.id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (rid, parent_id, action_id, created_at, status, tags, changed_turns, current) = row?;
            out.push(Revision {
                id: rid,
                parent_id,
                action_id,
                created_at,
                status: Status::parse(&status)?,
                tags: super::parse_json("tags", id, &tags)?,
                changed_turns,
                current,
            });
        }
        Ok(out)
    }
}
