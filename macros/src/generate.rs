//! Emits the code for a checked model: the `Referenceable` impl (dispatch table) and the proxy.

mod dispatch;
mod proxy;

pub(crate) use proxy::proxy_definition;

use crate::model::{ExposedImpl, Kind};
use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

/// Everything `#[referenceable]` emits for `model`, the user's block first.
pub(crate) fn all(item: &ItemImpl, model: &ExposedImpl) -> TokenStream {
    let proxy_struct = proxy::proxy_struct(model);
    let proxy_methods = proxy::proxy_methods(model);
    let referenceable = dispatch::referenceable_impl(model);
    let avatar = (model.kind == Kind::Avatar).then(|| {
        let self_ident = &model.self_ident;
        quote! {
            #[automatically_derived]
            impl ::tartine::Avatar for #self_ident {}
        }
    });
    quote! {
        #item
        #referenceable
        #avatar
        #proxy_struct
        #proxy_methods
    }
}
