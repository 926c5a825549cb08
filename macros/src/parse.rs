//! Reads an `impl` block into the model: which methods are exposed, their parameters and
//! return types, and the helper attributes (which it strips from the user's code). The trait
//! forms are read in `parse_trait.rs`, with the same method reader.

use crate::args::Args;
use crate::ctxt::Ctxt;
use crate::model::{
    ExposedImpl, ExposedMethod, HiddenMethod, Kind, Output, Param, Timeout, Viewer,
};
use crate::names::{HELPER_ATTR, RENAME, SKIP, SPAWN, TIMEOUT, arg_ident};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    Attribute, FnArg, GenericArgument, ImplItem, ItemImpl, LitStr, Pat, PathArguments, ReturnType,
    Signature, Type, Visibility,
};

/// Builds the model of `item`, stripping helper attributes from it. Returns `None` when the
/// block cannot be modelled at all (its errors are in `cx`).
pub(crate) fn exposed_impl(
    cx: &Ctxt,
    kind: Kind,
    args: Args,
    item: &mut ItemImpl,
) -> Option<ExposedImpl> {
    let self_ident = self_ident(cx, kind, &item.self_ty);
    let mut methods = Vec::new();
    let mut hidden = Vec::new();
    for impl_item in &mut item.items {
        if let ImplItem::Fn(function) = impl_item {
            let is_pub = matches!(function.vis, Visibility::Public(_));
            match method(cx, kind, &mut function.attrs, is_pub, &function.sig) {
                Some(method) => methods.push(method),
                None => hidden.extend(hidden_method(&function.attrs, &function.sig)),
            }
        }
    }
    let self_ident = self_ident?;
    for method in &mut methods {
        name_self(method, &self_ident);
    }
    Some(ExposedImpl {
        kind,
        self_ident,
        name: args.name,
        methods,
        hidden,
    })
}

/// Writes the type's name for `Self` in what crosses the wire: the proxy's methods are
/// generated in the proxy's own `impl`, where `Self` would be the proxy.
fn name_self(method: &mut ExposedMethod, self_ident: &syn::Ident) {
    let named = |ty: &mut Type| {
        let replaced =
            crate::types::replace_self(ty.to_token_stream(), &self_ident.to_token_stream());
        if let Ok(concrete) = syn::parse2(replaced) {
            *ty = concrete;
        }
    };
    for param in &mut method.params {
        named(&mut param.ty);
    }
    if let Some(viewer) = &mut method.viewer {
        named(&mut viewer.ty);
    }
    match &mut method.output {
        Output::Value(ty) => named(ty),
        Output::Result { ok, err } => {
            named(ok);
            named(err);
        }
    }
}

pub(crate) fn self_ident(cx: &Ctxt, kind: Kind, self_ty: &Type) -> Option<proc_macro2::Ident> {
    if let Type::Path(path) = self_ty
        && path.qself.is_none()
        && path.path.segments.len() == 1
        && let Some(segment) = path.path.segments.first()
    {
        if segment.arguments.is_empty() {
            return Some(segment.ident.clone());
        }
        cx.error_spanned_by(
            self_ty,
            format!(
                "{} does not support generic types: a remote object has one concrete type; expose a wrapper such as `impl Echo` instead",
                kind.attribute()
            ),
        );
        return None;
    }
    cx.error_spanned_by(
        self_ty,
        format!(
            "{} needs a plain type name here, such as `impl Echo`; generic or qualified types are not supported",
            kind.attribute()
        ),
    );
    None
}

/// The helper options of one method.
#[derive(Default)]
pub(crate) struct MethodOptions {
    rename: Option<LitStr>,
    skip: bool,
    /// The literal as written (for errors), and the timeout it says.
    timeout: Option<(LitStr, Timeout)>,
    /// Where `spawn` is written, if it is.
    spawn: Option<proc_macro2::Span>,
}

/// Reads and removes `#[tartine(..)]` from `attrs`.
fn take_options(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> MethodOptions {
    let mut options = MethodOptions::default();
    attrs.retain(|attr| {
        if !attr.path().is_ident(HELPER_ATTR) {
            return true;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(RENAME) {
                options.rename = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident(SKIP) {
                options.skip = true;
                Ok(())
            } else if meta.path.is_ident(TIMEOUT) {
                let literal: LitStr = meta.value()?.parse()?;
                let timeout = parse_timeout(&literal.value()).ok_or_else(|| {
                    syn::Error::new(
                        literal.span(),
                        "expected a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\", or \"none\" to wait for ever",
                    )
                })?;
                options.timeout = Some((literal, timeout));
                Ok(())
            } else if meta.path.is_ident(SPAWN) {
                options.spawn = Some(meta.path.span());
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown tartine option; expected one of: `{RENAME} = \"..\"`, `{SKIP}`, `{TIMEOUT} = \"..\"`, `{SPAWN}`"
                )))
            }
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
        false
    });
    options
}

/// Reads `"none"`, or a whole number of `ms`, `s`, `m` or `h`.
fn parse_timeout(text: &str) -> Option<Timeout> {
    if text == "none" {
        return Some(Timeout::Never);
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(millis_per_unit).map(Timeout::Millis)
}

/// The avatar a viewable method's first parameter names: `&A` or `Arc<A>`.
fn viewer(ty: &Type) -> Option<Viewer> {
    if is_call_context(ty) {
        return None;
    }
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => Some(Viewer {
            ty: (*reference.elem).clone(),
            shared: false,
        }),
        Type::Path(_) => match crate::types::single_type_argument(ty)? {
            (name, inner) if name == "Arc" => Some(Viewer {
                ty: inner.clone(),
                shared: true,
            }),
            _ => None,
        },
        _ => None,
    }
}

/// A method with a receiver that stays local, as the proxy names it.
pub(crate) fn hidden_method(attrs: &[Attribute], sig: &Signature) -> Option<HiddenMethod> {
    sig.receiver()?;
    Some(HiddenMethod {
        ident: sig.ident.clone(),
        arity: sig.inputs.len() - 1,
        cfgs: crate::model::cfg_attrs(attrs).cloned().collect(),
    })
}

/// The exposed method a function with `attrs` and `sig` describes, or `None` if it stays
/// local (not `pub`, skipped, or without `self`).
pub(crate) fn method(
    cx: &Ctxt,
    kind: Kind,
    attrs: &mut Vec<Attribute>,
    is_pub: bool,
    sig: &Signature,
) -> Option<ExposedMethod> {
    let options = take_options(cx, attrs);
    let has_receiver = sig.receiver().is_some();
    if !is_pub || options.skip || !has_receiver {
        if let Some(rename) = &options.rename
            && !(is_pub && has_receiver && !options.skip)
        {
            cx.error_spanned_by(
                rename,
                "`rename` applies to exposed methods only: `pub` methods taking `&self`",
            );
        }
        if let Some((literal, _)) = &options.timeout
            && !(is_pub && has_receiver && !options.skip)
        {
            cx.error_spanned_by(
                literal,
                "`timeout` applies to exposed methods only: `pub` methods taking `&self`",
            );
        }
        if let Some(span) = options.spawn
            && !(is_pub && has_receiver && !options.skip)
        {
            cx.push(syn::Error::new(
                span,
                "`spawn` applies to exposed methods only: `pub` methods taking `&self`",
            ));
        }
        return None;
    }
    let (wire_name, wire_name_span) = match &options.rename {
        Some(rename) => (rename.value(), rename.span()),
        None => (sig.ident.unraw().to_string(), sig.ident.span()),
    };
    let mut typed_inputs = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => Some(typed),
            FnArg::Receiver(_) => None,
        })
        .peekable();
    let viewer = if kind == Kind::Viewable {
        let viewer = typed_inputs.peek().and_then(|typed| viewer(&typed.ty));
        if viewer.is_some() {
            typed_inputs.next();
        }
        viewer
    } else {
        None
    };
    let params = typed_inputs
        .enumerate()
        .map(|(index, typed)| Param {
            injected: is_call_context(&typed.ty),
            proxy_name: match &*typed.pat {
                Pat::Ident(ident) if ident.subpat.is_none() => ident.ident.clone(),
                _ => arg_ident(index),
            },
            ty: (*typed.ty).clone(),
        })
        .collect();
    let forwarded_attrs = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc") || attr.path().is_ident("cfg"))
        .cloned()
        .collect();
    Some(ExposedMethod {
        ident: sig.ident.clone(),
        wire_name,
        wire_name_span,
        is_async: sig.asyncness.is_some(),
        params,
        viewer,
        output: output(&sig.output),
        timeout: options.timeout.map(|(_, timeout)| timeout),
        spawn: options.spawn.is_some(),
        forwarded_attrs,
        sig: sig.clone(),
    })
}

/// Whether `ty` is `&CallContext` (any path ending in `CallContext`), which the runtime
/// supplies.
pub(crate) fn is_call_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    if reference.mutability.is_some() {
        return false;
    }
    matches!(&*reference.elem, Type::Path(path)
        if path.qself.is_none()
            && path.path.segments.last().is_some_and(|segment| segment.ident == "CallContext"))
}

fn output(output: &ReturnType) -> Output {
    let ty = match output {
        ReturnType::Default => return Output::Value(syn::parse_quote!(())),
        ReturnType::Type(_, ty) => &**ty,
    };
    if let Some((ok, err)) = result_arguments(ty) {
        return Output::Result { ok, err };
    }
    Output::Value(ty.clone())
}

/// `T` and `E` when `ty` is spelled `Result<T, E>` (any path ending in `Result`).
fn result_arguments(ty: &Type) -> Option<(Type, Type)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    });
    let (ok, err) = (types.next()?, types.next()?);
    types.next().is_none().then_some((ok, err))
}

#[cfg(test)]
mod timeout_tests {
    use super::*;

    #[test]
    fn timeouts_read_as_written() {
        assert_eq!(parse_timeout("none"), Some(Timeout::Never));
        assert_eq!(parse_timeout("250ms"), Some(Timeout::Millis(250)));
        assert_eq!(parse_timeout("30s"), Some(Timeout::Millis(30_000)));
        assert_eq!(parse_timeout("5m"), Some(Timeout::Millis(300_000)));
        assert_eq!(parse_timeout("1h"), Some(Timeout::Millis(3_600_000)));
        for bad in [
            "",
            "5",
            "s",
            "1.5s",
            "5 s",
            "-1s",
            "5d",
            "99999999999999999999h",
        ] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }
}
