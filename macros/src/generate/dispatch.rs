//! Emits `impl Referenceable`: the interface name, the method table and the dispatch `match`.

use crate::model::{ExposedImpl, ExposedMethod, Output};
use crate::names::{arg_ident, proxy_ident};
use crate::types::{ReturnShape, return_shape, to_wire};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// `impl Referenceable for Type`, wrapped so its helpers do not leak into the user's scope.
pub(crate) fn referenceable_impl(model: &ExposedImpl) -> TokenStream {
    let self_ident = &model.self_ident;
    let proxy = proxy_ident(self_ident);
    let wire_names = model.methods.iter().map(|method| &method.wire_name);
    let arms = model
        .methods
        .iter()
        .map(|method| dispatch_arm(model, method));
    quote! {
        #[automatically_derived]
        impl ::tartine::Referenceable for #self_ident {
            const INTERFACE: &'static str =
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#self_ident));
            const METHODS: &'static [&'static str] = &[#(#wire_names),*];
            type Proxy = #proxy;

            #[allow(
                unused_variables,
                clippy::let_unit_value,
                clippy::unit_arg,
                clippy::redundant_closure
            )]
            fn dispatch<__C: ::tartine::__private::Codec>(
                self: ::tartine::__private::Arc<Self>,
                __tartine_method: &str,
                __tartine_args: &[u8],
                __tartine_cx: &::tartine::__private::CallContext,
            ) -> ::core::result::Result<
                ::tartine::__private::Started,
                ::tartine::__private::DispatchError,
            > {
                match __tartine_method {
                    #(#arms)*
                    _ => ::core::result::Result::Err(
                        ::tartine::__private::DispatchError::NoSuchMethod,
                    ),
                }
            }
        }
    }
}

fn dispatch_arm(model: &ExposedImpl, method: &ExposedMethod) -> TokenStream {
    let self_ident = &model.self_ident;
    let ident = &method.ident;
    let wire_name = &method.wire_name;
    let cfgs = method
        .forwarded_attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"));
    let wire_params: Vec<_> = method
        .params
        .iter()
        .enumerate()
        .filter(|(_, param)| !param.injected)
        .collect();
    let args = wire_params.iter().map(|(index, _)| arg_ident(*index));
    let asserts = wire_params.iter().map(|(_, param)| {
        let ty = &param.ty;
        quote_spanned! {ty.span()=>
            ::tartine::__private::assert_argument::<#ty>();
        }
    });
    let tys = wire_params.iter().map(|(_, param)| &param.ty);
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
                        #self_ident::#ident(&*self, #viewer_arg #(#values),*) #awaited;
                    #reply
                }),
            ))
        }
    } else {
        quote! {
            let __tartine_result = #self_ident::#ident(&*self, #viewer_arg #(#values),*);
            ::core::result::Result::Ok(::tartine::__private::Started::Ready(#reply))
        }
    };
    let viewer = method.viewer.as_ref().map(|viewer| {
        let ty = &viewer.ty;
        let assert = quote_spanned! {ty.span()=>
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
            let (#(#args,)*): (#(#tys,)*) =
                ::tartine::__private::decode_args::<__C, _>(__tartine_cx, __tartine_args)?;
            #body
        }
    }
}

/// Encodes `__tartine_result` according to the method's declared output.
fn reply(output: &Output, span: proc_macro2::Span) -> TokenStream {
    match output {
        Output::Value(ty) => {
            let value = to_wire(&return_shape(ty), quote!(__tartine_result), span);
            quote_spanned!(span=> ::tartine::__private::reply_value::<__C, _>(&__tartine_cx, #value))
        }
        Output::Result { ok, .. } => {
            let shape = return_shape(ok);
            if matches!(shape, ReturnShape::Direct { .. }) {
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
