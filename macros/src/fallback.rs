//! What to emit when the checks fail: the user's code, the errors, and stand-in `Interface`
//! and `Referenceable` impls with no methods, so uses of `Remote<Type>` elsewhere raise no
//! second wave of errors.

use crate::generate::{interface_impl, referenceable_for};
use crate::model::{ExposedImpl, Kind};
use crate::names::{proxy_ident, proxy_module};
use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemImpl, ItemTrait};

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
    let interface = interface_impl(
        Kind::Referenceable,
        &quote!(),
        &quote!(#self_ident),
        &quote!(::core::stringify!(#self_ident)),
        &proxy,
        &[],
    );
    let referenceable = referenceable_for(
        Kind::Referenceable,
        self_ident,
        &quote!(Self),
        &quote!(::core::result::Result::Err(
            ::tartine::__private::DispatchError::NoSuchMethod
        )),
    );
    quote! {
        #item
        #errors
        #proxy_definition
        #interface
        #referenceable
    }
}

/// The user's trait, usable as `dyn Trait` (so that no second wave of errors follows), the
/// errors, and (if the trait is not generic) a method-less stand-in interface.
pub(crate) fn emit_trait(item: &ItemTrait, kind: Kind, error: syn::Error) -> TokenStream {
    let errors = error.into_compile_error();
    let item = crate::generate::usable_as_dyn(item, kind);
    let ident = &item.ident;
    let proxy = proxy_ident(ident);
    let proxy_definition =
        crate::generate::proxy_definition(&proxy, &proxy_module(ident), &quote!(#[doc(hidden)]));
    let stand_in = item.generics.params.is_empty().then(|| {
        let interface = interface_impl(
            kind,
            &quote!(<'__tartine>),
            &quote!(dyn #ident + '__tartine),
            &quote!(::core::stringify!(#ident)),
            &proxy,
            &[],
        );
        quote! {
            #proxy_definition
            #interface
        }
    });
    quote! {
        #item
        #errors
        #stand_in
    }
}
