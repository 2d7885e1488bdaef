//! One module per table: its migrations and its queries.

pub mod books;
pub mod compare;
pub mod conversations;
pub mod corpus;
pub mod examples;
pub mod generation;
pub mod jobs;
pub mod meta;
pub mod mistral;
