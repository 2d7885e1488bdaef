//! Integration tests of grimoire-eval; modules mirror `src/`.

mod common;
mod eval {
    mod classifier;
    mod report;
}
