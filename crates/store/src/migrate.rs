//! Forward-only numbered migrations, tracked in `PRAGMA user_version`.
//!
//! Each table module owns the SQL of its own migrations; this list only orders them. Migration `i`
//! (counting from 0) brings the schema from version `i` to `i + 1`, inside one transaction.

use rusqlite::Connection;

use crate::{Result, table};

const MIGRATIONS: &[&[&str]] = &[
    // 1: the project itself, its jobs and its books.
    &[table::meta::MIGRATION_1, table::jobs::MIGRATION_1, table::books::MIGRATION_1],
    // 2: the reviewed examples, their history and full-text index.
    &[table::examples::MIGRATION_2],
    // 3: the analysed books: chapters, paragraphs, quotations, characters, corrections.
    &[table::corpus::MIGRATION_3],
    // 4: saved chats.
    &[table::conversations::MIGRATION_4],
    // 5: teacher answers (cache) and the work lists of generation jobs.
    &[table::generation::MIGRATION_5],
    // 6: blind picks between the base model and a run, and system prompt presets.
    &[table::compare::MIGRATION_6],
    // 7: fine-tuning jobs started on Mistral's servers.
    &[table::mistral::MIGRATION_7],
    // 8: blind picks may be a tie or neither.
    &[table::compare::MIGRATION_8],
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub(crate) fn apply(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, step) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        for sql in *step {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_8_keeps_the_blind_votes_of_schema_7_and_takes_ties() -> Result<()> {
        let mut conn = Connection::open_in_memory()?;
        for (index, step) in MIGRATIONS.iter().enumerate().take(7) {
            for sql in *step {
                conn.execute_batch(sql)?;
            }
            conn.pragma_update(None, "user_version", index as u32 + 1)?;
        }
        conn.execute(
            "INSERT INTO blind_votes (run_id, winner, prompt, base_reply, tuned_reply, created_at) VALUES ('r1', 'tuned', 'Hi?', 'a', 'b', 'now')",
            [],
        )?;
        assert!(conn.execute("INSERT INTO blind_votes (run_id, winner, prompt, base_reply, tuned_reply, created_at) VALUES ('r1', 'tie', '', '', '', '')", []).is_err());
        apply(&mut conn)?;
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        assert_eq!(version, SCHEMA_VERSION);
        let kept: (String, String) = conn.query_row("SELECT run_id, winner FROM blind_votes", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        assert_eq!(kept, ("r1".to_string(), "tuned".to_string()));
        conn.execute("INSERT INTO blind_votes (run_id, winner, prompt, base_reply, tuned_reply, created_at) VALUES ('r1', 'tie', '', '', '', '')", [])?;
        assert!(conn.execute("INSERT INTO blind_votes (run_id, winner, prompt, base_reply, tuned_reply, created_at) VALUES ('r1', 'maybe', '', '', '', '')", []).is_err());
        Ok(())
    }
}
