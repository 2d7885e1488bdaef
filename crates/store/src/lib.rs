//! Project store.
