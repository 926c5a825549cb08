//! Emits the trait forms: an interface trait made usable as `dyn Trait` (every method bound by
//! `Self: Sized`, `async` methods returning `Send` futures), its `Interface` impl, its
//! dispatch (a function generic over the implementing type) and its proxy; and, for a server's
//! `impl Trait for Type`, the `Referenceable` impl that calls that dispatch.

use super::dispatch::{
    Callee, dispatch_allows, dispatch_match, interface_impl, referenceable_for, wire_name,
};
use super::proxy::{proxy_methods, proxy_struct};
use crate::model::{ExposedTrait, Kind, TraitImpl};
use crate::names::proxy_ident;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemImpl, ItemTrait, ReturnType, TraitItem};

/// Everything an interface trait expands to, the trait first.
pub(crate) fn interface_trait(item: &ItemTrait, model: &ExposedTrait) -> TokenStream {
    let ident = &model.ident;
    let vis = &item.vis;
    let item = usable_as_dyn(item, model.kind);
    let proxy = proxy_ident(ident);
    let name = wire_name(model.name.as_ref(), ident);
    let interface = interface_impl(
        model.kind,
        &quote!(<'__tartine>),
        &quote!(dyn #ident + '__tartine),
        &name,
        &proxy,
        &model.methods,
    );
    let callee = Callee {
        path: quote!(<__T as #ident>),
        this: quote!(__tartine_this),
        self_type: Some(quote!(<__T as #ident>)),
    };
    let dispatch = dispatch_match(&model.methods, &callee);
    let allows = dispatch_allows();
    let proxy_struct = proxy_struct(model.kind, ident, &format!("dyn {ident}"));
    let proxy_methods = proxy_methods(ident, &model.methods, &model.hidden);
    quote! {
        #item

        #interface

        impl dyn #ident {
            /// Decodes a call's arguments and starts the method on `__T`'s object. Generated
            /// for `impl Referenceable`; not meant to be called.
            #[doc(hidden)]
            #allows
            #vis fn __tartine_dispatch<__T, __C>(
                __tartine_this: ::tartine::__private::Arc<__T>,
                __tartine_method: &str,
                __tartine_args: &[u8],
                __tartine_cx: &::tartine::__private::CallContext,
            ) -> ::core::result::Result<
                ::tartine::__private::Started,
                ::tartine::__private::DispatchError,
            >
            where
                __T: #ident + ::core::marker::Send + ::core::marker::Sync + 'static,
                __C: ::tartine::__private::Codec,
            {
                #dispatch
            }
        }

        #proxy_struct
        #proxy_methods
    }
}

/// `item` with every method and associated type bound by `Self: Sized`, so that `dyn Trait`
/// names the interface whatever its methods are; `async fn`s return `Send` futures, which the
/// dispatch runs on any worker; a viewable's avatar types are bound by `tartine::Avatar`.
pub(crate) fn usable_as_dyn(item: &ItemTrait, kind: Kind) -> ItemTrait {
    let mut item = item.clone();
    for trait_item in &mut item.items {
        match trait_item {
            TraitItem::Fn(function) => {
                let sig = &mut function.sig;
                sig.generics
                    .make_where_clause()
                    .predicates
                    .push(syn::parse_quote!(Self: ::core::marker::Sized));
                if sig.asyncness.take().is_some() {
                    // Refused by the checks; the fallback keeps the declaration alone.
                    if function.default.take().is_some() {
                        function.semi_token = Some(Default::default());
                    }
                    let sig = &mut function.sig;
                    let output = match &sig.output {
                        ReturnType::Default => quote!(()),
                        ReturnType::Type(_, ty) => quote!(#ty),
                    };
                    sig.output = syn::parse_quote! {
                        -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
                    };
                }
            }
            TraitItem::Type(ty) => {
                if kind == Kind::Viewable {
                    ty.bounds.push(syn::parse_quote!(::tartine::Avatar));
                }
                ty.generics
                    .make_where_clause()
                    .predicates
                    .push(syn::parse_quote!(Self: ::core::marker::Sized));
            }
            _ => {}
        }
    }
    item
}

/// The user's `impl Trait for Type`, and the `Referenceable` impl that dispatches through
/// the trait.
pub(crate) fn trait_implementation(item: &ItemImpl, model: &TraitImpl) -> TokenStream {
    let trait_path = &model.trait_path;
    let referenceable = referenceable_for(
        model.kind,
        &model.self_ident,
        &quote!(dyn #trait_path),
        &quote! {
            <dyn #trait_path>::__tartine_dispatch::<Self, __C>(
                self,
                __tartine_method,
                __tartine_args,
                __tartine_cx,
            )
        },
    );
    quote! {
        #item
        #referenceable
    }
}
