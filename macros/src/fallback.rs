//! What to emit when the checks fail: the user's code, the errors, and stand-in `Interface`
//! and `Referenceable` impls with no methods, so uses of `Remote<Type>` elsewhere raise no
//! second wave of errors.

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
    quote! {
        #item
        #errors

        #proxy_definition

        impl ::tartine::Interface for #self_ident {
            const NAME: &'static str = ::core::stringify!(#self_ident);
            const METHODS: &'static [&'static str] = &[];
            type Proxy = #proxy;
        }

        impl ::tartine::Referenceable for #self_ident {
            type Interface = Self;

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

/// The user's trait, usable as `dyn Trait` (so that no second wave of errors follows), the
/// errors, and (if the trait is not generic) a method-less stand-in interface.
pub(crate) fn emit_trait(item: &ItemTrait, kind: Kind, error: syn::Error) -> TokenStream {
    let errors = error.into_compile_error();
    let item = crate::generate::usable_as_dyn(item, kind);
    let ident = &item.ident;
    let proxy = proxy_ident(ident);
    let proxy_definition =
        crate::generate::proxy_definition(&proxy, &proxy_module(ident), &quote!(#[doc(hidden)]));
    let avatar = (kind == Kind::Avatar).then(
        || quote!(impl<'__tartine> ::tartine::AvatarInterface for dyn #ident + '__tartine {}),
    );
    let stand_in = item.generics.params.is_empty().then(|| {
        quote! {
            #proxy_definition
            impl<'__tartine> ::tartine::Interface for dyn #ident + '__tartine {
                const NAME: &'static str = ::core::stringify!(#ident);
                const METHODS: &'static [&'static str] = &[];
                type Proxy = #proxy;
            }
            #avatar
        }
    });
    quote! {
        #item
        #errors
        #stand_in
    }
}
