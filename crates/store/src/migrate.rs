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
