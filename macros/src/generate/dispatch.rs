//! Emits the dispatch of an interface: `impl Interface` (its name, method table and proxy),
//! and the `match` that decodes a call's arguments and starts the method, for an `impl` block
//! (inside `impl Referenceable`) or for an interface trait (a function generic over the
//! implementing type).

use crate::model::{ExposedImpl, ExposedMethod, Kind, Output};
use crate::names::{arg_ident, proxy_ident};
use crate::types::{
    ReturnShape, component_types, contains_local, contains_reference, contains_remote, handed_back,
    replace_self, return_shape, sent_back, to_wire,
};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The expression of an interface's wire name: `name = ".."`, else the crate's name and the
/// type's or trait's.
pub(crate) fn wire_name(name: Option<&syn::LitStr>, ident: &syn::Ident) -> TokenStream {
    match name {
        Some(name) => quote!(#name),
        None => quote! {
            ::core::concat!(::core::env!("CARGO_PKG_NAME"), ".", ::core::stringify!(#ident))
        },
    }
}

/// `impl Interface for #interface` (and `AvatarInterface` for avatars), with `generics` (a
/// lifetime for `dyn Trait + 'a`, so that the impl holds wherever the compiler erased the
/// object's lifetime).
pub(crate) fn interface_impl(
    kind: Kind,
    generics: &TokenStream,
    interface: &TokenStream,
    name: &TokenStream,
    proxy: &syn::Ident,
    methods: &[ExposedMethod],
) -> TokenStream {
    let wire_names = methods.iter().map(|method| {
        let (cfgs, wire_name) = (method.cfgs(), &method.wire_name);
        quote!(#(#cfgs)* #wire_name)
    });
    // The runtime's own interfaces (named `tartine.*`) are not offered as suggestions in the
    // errors of users' code. (Users' impls keep them: their crates may lack the tool prelude
    // that `diagnostic::` needs, as `#![no_implicit_prelude]` ones do.)
    let built_in = name
        .to_string()
        .starts_with("\"tartine.")
        .then(|| quote!(#[diagnostic::do_not_recommend]));
    let avatar = (kind == Kind::Avatar).then(|| {
        quote! {
            #[automatically_derived]
            #built_in
            impl #generics ::tartine::AvatarInterface for #interface {}
        }
    });
    // A method under `#[cfg]` names its types only where it exists: they may not exist
    // elsewhere (a type of an optional dependency).
    let (always, sometimes): (Vec<_>, Vec<_>) = methods
        .iter()
        .partition(|method| method.cfgs().next().is_none());
    let probe = |ty: syn::Type| {
        quote! {
            ::core::iter::Extend::extend(
                &mut found,
                (&&&&::tartine::__private::probe::Probe::<#ty>::new()).interface_info(),
            );
        }
    };
    let mut probes: Vec<TokenStream> = named_types(&always).into_iter().map(probe).collect();
    probes.extend(sometimes.into_iter().map(|method| {
        let cfgs = method.cfgs();
        let probes = named_types(&[method]).into_iter().map(probe);
        quote!(#(#cfgs)* { #(#probes)* })
    }));
    quote! {
        #[automatically_derived]
        #built_in
        impl #generics ::tartine::Interface for #interface {
            const NAME: &'static str = #name;
            const METHODS: &'static [&'static str] = &[#(#wire_names),*];
            type Proxy = #proxy;

            fn references() -> ::std::vec::Vec<::tartine::__private::InterfaceInfo> {
                #[allow(unused_imports)]
                use ::tartine::__private::probe::{
                    ViaHandle as _, ViaNothing as _, ViaRef as _, ViaReferenceable as _,
                };
                #[allow(unused_mut)]
                let mut found = ::std::vec::Vec::new();
                #(#probes)*
                found
            }
        }
        #avatar
    }
}

/// The types the signatures of `methods` are made of (their parameters but the runtime's,
/// and their results), once each.
fn named_types(methods: &[&ExposedMethod]) -> Vec<syn::Type> {
    let mut types = Vec::new();
    for method in methods {
        for param in method.params.iter().filter(|param| !param.injected) {
            component_types(&param.ty, &mut types);
        }
        match &method.output {
            Output::Value(ty) => component_types(ty, &mut types),
            Output::Result { ok, err } => {
                component_types(ok, &mut types);
                component_types(err, &mut types);
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    types.retain(|ty| seen.insert(quote!(#ty).to_string()));
    types
}

/// Who a dispatch arm calls: `Type::method(&*self, ..)` for an `impl` block,
/// `<__T as Trait>::method(&*this, ..)` for a trait.
pub(crate) struct Callee {
    /// The path the method is called through.
    pub(crate) path: TokenStream,
    /// The `Arc` of the object.
    pub(crate) this: TokenStream,
    /// What `Self` in a viewer type stands for (`<__T as Trait>` in a trait).
    pub(crate) self_type: Option<TokenStream>,
}

/// The arms of the dispatch `match` on the method name, and its fallback.
pub(crate) fn dispatch_match(methods: &[ExposedMethod], callee: &Callee) -> TokenStream {
    let arms = methods.iter().map(|method| dispatch_arm(method, callee));
    quote! {
        match __tartine_method {
            #(#arms)*
            _ => ::core::result::Result::Err(
                ::tartine::__private::DispatchError::NoSuchMethod,
            ),
        }
    }
}

/// The lints the generated dispatch code allows.
pub(crate) fn dispatch_allows() -> TokenStream {
    quote! {
        #[allow(
            unused_variables,
            clippy::let_unit_value,
            clippy::unit_arg,
            clippy::redundant_closure
        )]
    }
}

/// `impl Interface` and `impl Referenceable` for the type of an `impl` block.
pub(crate) fn referenceable_impl(model: &ExposedImpl) -> TokenStream {
    let self_ident = &model.self_ident;
    let proxy = proxy_ident(self_ident);
    let name = wire_name(model.name.as_ref(), self_ident);
    let interface = interface_impl(
        model.kind,
        &quote!(),
        &quote!(#self_ident),
        &name,
        &proxy,
        &model.methods,
    );
    let callee = Callee {
        path: quote!(#self_ident),
        this: quote!(self),
        self_type: None,
    };
    let dispatch = dispatch_match(&model.methods, &callee);
    let referenceable = referenceable_for(model.kind, self_ident, &quote!(Self), &dispatch);
    quote! {
        #interface
        #referenceable
    }
}

/// `impl Referenceable for #self_ident` of interface `interface`, whose `dispatch` runs
/// `body` (which sees `self`, `__tartine_method`, `__tartine_args` and `__tartine_cx`), and
/// `impl Avatar` when `kind` is an avatar. The one place this impl is spelled out.
pub(crate) fn referenceable_for(
    kind: Kind,
    self_ident: &syn::Ident,
    interface: &TokenStream,
    body: &TokenStream,
) -> TokenStream {
    let allows = dispatch_allows();
    let avatar = (kind == Kind::Avatar).then(|| {
        quote! {
            #[automatically_derived]
            impl ::tartine::Avatar for #self_ident {}
        }
    });
    quote! {
        #[automatically_derived]
        impl ::tartine::Referenceable for #self_ident {
            type Interface = #interface;

            #allows
            fn dispatch<__C: ::tartine::__private::Codec>(
                self: ::tartine::__private::Arc<Self>,
                __tartine_method: &str,
                __tartine_args: &[u8],
                __tartine_cx: &::tartine::__private::CallContext,
            ) -> ::core::result::Result<
                ::tartine::__private::Started,
                ::tartine::__private::DispatchError,
            > {
                #body
            }
        }
        #avatar
    }
}

fn dispatch_arm(method: &ExposedMethod, callee: &Callee) -> TokenStream {
    let path = &callee.path;
    let this = &callee.this;
    let ident = &method.ident;
    let wire_name = &method.wire_name;
    let cfgs = method.cfgs();
    let wire_params: Vec<_> = method
        .params
        .iter()
        .enumerate()
        .filter(|(_, param)| !param.injected)
        .collect();
    let args = wire_params.iter().map(|(index, _)| arg_ident(*index));
    // Parameters holding references are checked apart; plain ones through the witness their
    // proxy shares (see `proxy.rs`), so a type that cannot cross the wire is one error.
    // A `Local<T>` is decoded as a `HandedBack<T>` and converted (see `types.rs`); the checks
    // refuse a `Local` the conversion cannot see through.
    let decoded: Vec<_> = wire_params
        .iter()
        .map(|(_, param)| {
            handed_back(&param.ty, quote!(__tartine_decoded), 0)
                .unwrap_or_else(|_| (param.ty.clone(), quote!(__tartine_decoded)))
        })
        .collect();
    let asserts = wire_params
        .iter()
        .zip(&decoded)
        // A `Local` is checked where the user wrote it (`Local<T>` requires `T: Referenceable`).
        .filter(|((_, param), _)| contains_reference(&param.ty) && !contains_local(&param.ty))
        .map(|((_, param), (mirror, _))| {
            let span = param.ty.span();
            quote_spanned! {span=>
                ::tartine::__private::assert_argument::<#mirror>();
            }
        });
    let reads: Vec<_> = wire_params
        .iter()
        .zip(&decoded)
        .map(|((_, param), (mirror, conversion))| {
            let ty = &param.ty;
            if contains_reference(ty) {
                // Spanned at the parameter's type: a `Local` of a type that is not referenceable
                // is this one error, there (`Local<T>` itself names any `T`).
                let read = quote_spanned! {ty.span()=>
                    <__C as ::tartine::__private::Codec>::read::<#mirror>(__tartine_reader)
                };
                quote! {{
                    let __tartine_decoded = #read?;
                    #conversion
                }}
            } else {
                let witness = quote_spanned! {ty.span()=>
                    ::tartine::__private::argument::<__C, #ty>()
                };
                quote!(#witness.decode(__tartine_reader)?)
            }
        })
        .collect();
    let values = method.params.iter().enumerate().map(|(index, param)| {
        if param.injected {
            quote!(&__tartine_cx)
        } else {
            let arg = arg_ident(index);
            quote!(#arg)
        }
    });
    let viewer_arg = method.viewer.as_ref().map(|viewer| {
        if viewer.shared {
            quote!(__tartine_viewer,)
        } else {
            quote!(&*__tartine_viewer,)
        }
    });
    let output_span = match &method.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => method.ident.span(),
    };
    let reply = reply(&method.output, output_span);
    let awaited = method.is_async.then(|| quote!(.await));
    let body = if method.is_async || method.spawn {
        let started = if method.spawn {
            quote!(Spawn)
        } else {
            quote!(Running)
        };
        quote! {
            let __tartine_cx = ::core::clone::Clone::clone(__tartine_cx);
            ::core::result::Result::Ok(::tartine::__private::Started::#started(
                ::tartine::__private::Box::pin(async move {
                    let __tartine_result =
                        #path::#ident(&*#this, #viewer_arg #(#values),*) #awaited;
                    #reply
                }),
            ))
        }
    } else {
        quote! {
            let __tartine_result = #path::#ident(&*#this, #viewer_arg #(#values),*);
            ::core::result::Result::Ok(::tartine::__private::Started::Ready(#reply))
        }
    };
    let viewer = method.viewer.as_ref().map(|viewer| {
        let ty = &viewer.ty;
        let ty = match &callee.self_type {
            Some(with) => replace_self(quote!(#ty), with),
            None => quote!(#ty),
        };
        let assert = quote_spanned! {viewer.ty.span()=>
            let _ = ::tartine::__private::assert_avatar::<#ty>;
        };
        quote! {
            #assert
            let __tartine_viewer = ::tartine::__private::perspective::<#ty>(__tartine_cx)?;
        }
    });
    quote! {
        #(#cfgs)*
        #wire_name => {
            #(#asserts)*
            #viewer
            let (#(#args,)*) = ::tartine::__private::decode_each_arg::<__C, _>(
                __tartine_cx,
                __tartine_args,
                |__tartine_reader| ::core::result::Result::Ok((#(#reads,)*)),
            )?;
            #body
        }
    }
}

/// Encodes `__tartine_result` according to the method's declared output.
fn reply(output: &Output, span: proc_macro2::Span) -> TokenStream {
    match output {
        Output::Value(ty) => {
            let value = match sent_back(ty, quote!(__tartine_result)) {
                Ok(value) if contains_remote(ty) => value,
                _ => to_wire(&return_shape(ty), quote!(__tartine_result), span),
            };
            quote_spanned!(span=> ::tartine::__private::reply_value::<__C, _>(&__tartine_cx, #value))
        }
        Output::Result { ok, .. } => {
            let shape = return_shape(ok);
            if contains_remote(ok)
                && let Ok(value) = sent_back(ok, quote!(__tartine_ok))
            {
                // The caller's objects go back to it (see `types::sent_back`).
                quote_spanned! {span=>
                    ::tartine::__private::reply_result::<__C, _, _>(
                        &__tartine_cx,
                        __tartine_result.map(|__tartine_ok| #value),
                    )
                }
            } else if matches!(shape, ReturnShape::Direct { .. }) {
                quote_spanned!(span=> ::tartine::__private::reply_result::<__C, _, _>(&__tartine_cx, __tartine_result))
            } else {
                let value = to_wire(&shape, quote!(__tartine_ok), span);
                quote_spanned! {span=>
                    ::tartine::__private::reply_result::<__C, _, _>(
                        &__tartine_cx,
                        __tartine_result.map(|__tartine_ok| #value),
                    )
                }
            }
        }
    }
}
