//! Shared code of tartine's examples: the objects both sides of each example agree on.
//!
//! In an application of your own, this is the crate both the server and the client depend on:
//! interface names are qualified by module path, so both sides must use the same types.

pub mod chat;
pub mod perspective;
