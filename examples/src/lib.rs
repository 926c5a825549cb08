//! Shared code of tartine's examples. The chat is split as an application of your own would
//! be: its protocol in `tartine-chat-protocol` (interface traits and wire types), its server
//! here (`chat`), its client in `tartine-chat-client`, which links no server code. The smaller
//! examples keep server and client in one crate, in the `impl`-block form.

pub mod chat;
pub mod perspective;
