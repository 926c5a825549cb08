//! Emits the code for a checked model: for an `impl` block, the `Interface` and
//! `Referenceable` impls and the proxy; for an interface trait, the trait made usable as
//! `dyn Trait`, its `Interface` impl, its dispatch and its proxy; for `impl Trait for Type`,
//! the `Referenceable` impl that dispatches through the trait.

mod dispatch;
mod interface;
mod proxy;

pub(crate) use dispatch::{interface_impl, referenceable_for};
pub(crate) use interface::{interface_trait, trait_implementation, usable_as_dyn};
pub(crate) use proxy::proxy_definition;

use crate::model::ExposedImpl;
use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

/// Everything `#[referenceable]` emits for `model`, the user's block first.
pub(crate) fn all(item: &ItemImpl, model: &ExposedImpl) -> TokenStream {
    let self_ident = &model.self_ident;
    let proxy_struct = proxy::proxy_struct(model.kind, self_ident, &self_ident.to_string());
    let proxy_methods = proxy::proxy_methods(self_ident, &model.methods, &model.hidden);
    let referenceable = dispatch::referenceable_impl(model);
    quote! {
        #item
        #referenceable
        #proxy_struct
        #proxy_methods
    }
}
