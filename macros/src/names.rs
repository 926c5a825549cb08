//! Names the macros read or write: helper attributes and generated identifiers.

use proc_macro2::Ident;
use quote::format_ident;

/// The helper attribute on methods: `#[tartine(rename = "..")]`, `#[tartine(skip)]`,
/// `#[tartine(timeout = "..")]`, `#[tartine(spawn)]`.
pub(crate) const HELPER_ATTR: &str = "tartine";
/// `#[tartine(rename = "wire_name")]`.
pub(crate) const RENAME: &str = "rename";
/// `#[tartine(skip)]`: keep a `pub` method local.
pub(crate) const SKIP: &str = "skip";
/// `#[tartine(timeout = "5s")]`: how long callers wait for the method's reply.
pub(crate) const TIMEOUT: &str = "timeout";
/// `#[tartine(spawn)]`: each call runs as a task of its own, off the connection's reader.
pub(crate) const SPAWN: &str = "spawn";

/// The generated proxy of `ty`.
pub(crate) fn proxy_ident(ty: &Ident) -> Ident {
    format_ident!("{}Proxy", ty)
}

/// The private module that holds the proxy of `ty`, so its field stays out of reach.
pub(crate) fn proxy_module(ty: &Ident) -> Ident {
    format_ident!(
        "__tartine_proxy_{}",
        syn::ext::IdentExt::unraw(ty).to_string().to_lowercase()
    )
}

/// The name a generated local gives to the method's `index`-th argument.
pub(crate) fn arg_ident(index: usize) -> Ident {
    format_ident!("__tartine_arg{}", index)
}
