//! Implementation detail of the `tartine` crate: its attribute macros. **Do not depend on it
//! directly**: use the re-exports in `tartine`, where they are documented.
//!
//! Each macro runs the same pipeline on `proc_macro2` tokens: `parse` (and `parse_trait` for
//! the trait forms) builds a model of the `impl` block or trait, `check` reports every broken
//! rule at once, `generate` emits the interface, the dispatch and the proxy, or `fallback`
//! emits the user's code with the errors.

mod args;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod generate;
mod model;
mod names;
mod parse;
mod parse_trait;

mod types;

use proc_macro::TokenStream;

/// Exposes the `pub` methods of an `impl` block to peers. Documented in `tartine`.
#[proc_macro_attribute]
pub fn referenceable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::run(model::Kind::Referenceable, args.into(), item.into()).into()
}

/// Like `referenceable`, for the object a login yields. Documented in `tartine`.
#[proc_macro_attribute]
pub fn avatar(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::run(model::Kind::Avatar, args.into(), item.into()).into()
}

/// Like `referenceable`; each method receives the caller's avatar. Documented in `tartine`.
#[proc_macro_attribute]
pub fn viewable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::run(model::Kind::Viewable, args.into(), item.into()).into()
}
