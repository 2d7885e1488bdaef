//! A process that edits a project's examples in a loop, for the crash test in `tests/examples.rs`:
//! it reports every committed change on stdout, so that the test can kill it (SIGKILL) at any moment
//! and then check that everything it reported is in the database.
//!
//! `review_writer DB` edits one example's turns each round and, every third round, tags every
//! example in one bulk action, printing `edit ID ROUND`, `bulk-start ROUND` and `bulk ROUND`.

use std::io::Write;

use grimoire_store::Store;
use grimoire_store::table::examples::{
    Body, BulkOp, Derived, ExampleEdit, ExampleFilter, Message, Role, Target,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os().nth(1).ok_or("usage: review_writer DB")?;
    let store = Store::open(std::path::Path::new(&path))?;
    let count = i64::from(store.examples_count(&ExampleFilter::all())?);
    let mut out = std::io::stdout().lock();
    for round in 1.. {
        let id = round % count + 1;
        let messages = vec![Message::new(Role::User, "What now?"), Message::new(Role::Assistant, format!("edit {round}"))];
        let edit = ExampleEdit { body: Some(Body { messages, derived: Derived::default() }), ..Default::default() };
        store.example_edit(id, &edit, "Edit turns")?;
        writeln!(out, "edit {id} {round}")?;
        out.flush()?;
        if round % 3 == 0 {
            writeln!(out, "bulk-start {round}")?;
            out.flush()?;
            let op = BulkOp::AddTag(format!("round-{round}"));
            store.examples_bulk(&Target::Filter(ExampleFilter::all()), &op, "Tag all")?;
            writeln!(out, "bulk {round}")?;
            out.flush()?;
        }
    }
    Ok(())
}
