//! What to emit when the checks fail: the user's code, the errors, and a stand-in
//! `Referenceable` impl with no methods, so uses of `Remote<Type>` elsewhere raise no second
//! wave of errors.

use crate::model::ExposedImpl;
use crate::names::{proxy_ident, proxy_module};
use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

/// The user's block, the errors, and (when the type is known) a method-less stand-in.
pub(crate) fn emit(item: &ItemImpl, model: Option<&ExposedImpl>, error: syn::Error) -> TokenStream {
    let errors = error.into_compile_error();
    let Some(model) = model else {
        return quote! { #item #errors };
    };
    let self_ident = &model.self_ident;
    let proxy = proxy_ident(self_ident);
    let proxy_definition = crate::generate::proxy_definition(
        &proxy,
        &proxy_module(self_ident),
        &quote!(#[doc(hidden)]),
    );
    quote! {
        #item
        #errors

        #proxy_definition

        impl ::tartine::Referenceable for #self_ident {
            const INTERFACE: &'static str =
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#self_ident));
            const METHODS: &'static [&'static str] = &[];
            type Proxy = #proxy;

            fn dispatch<__C: ::tartine::__private::Codec>(
                self: ::tartine::__private::Arc<Self>,
                _: &str,
                _: &[u8],
                _: &::tartine::__private::CallContext,
            ) -> ::core::result::Result<
                ::tartine::__private::Started,
                ::tartine::__private::DispatchError,
            > {
                ::core::result::Result::Err(::tartine::__private::DispatchError::NoSuchMethod)
            }
        }
    }
}
