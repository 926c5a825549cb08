//! The rules an exposed `impl` block or interface trait must follow, one function each.
//! Every check records its errors and goes on, so the user sees all of them at once.

use crate::ctxt::Ctxt;
use crate::model::{ExposedImpl, ExposedMethod, ExposedTrait, Kind};
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{FnArg, ItemImpl, ItemTrait, TraitItem, Type};

/// Runs every check of an `impl` block.
pub(crate) fn all(cx: &Ctxt, item: &ItemImpl, model: &ExposedImpl) {
    check_no_impl_generics(cx, item, model);
    check_methods(cx, model.kind, &model.methods);
}

/// Runs every check of an interface trait.
pub(crate) fn all_trait(cx: &Ctxt, item: &ItemTrait, model: &ExposedTrait) {
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &item.generics,
            "an interface trait cannot be generic: peers call one interface with concrete types",
        );
    }
    check_methods(cx, model.kind, &model.methods);
    for method in &model.methods {
        check_no_self_on_the_wire(cx, method);
    }
    for trait_item in &item.items {
        if let TraitItem::Fn(function) = trait_item
            && let (Some(token), Some(_)) = (&function.sig.asyncness, &function.default)
        {
            cx.error_spanned_by(
                token,
                "an `async` method of an interface trait has no default body: each implementation writes its own",
            );
        }
    }
}

fn check_methods(cx: &Ctxt, kind: Kind, methods: &[ExposedMethod]) {
    for method in methods {
        check_viewer(cx, kind, method);
        check_receiver(cx, method);
        check_no_method_generics(cx, method);
        check_plain_fn(cx, method);
        check_param_types(cx, method);
        check_return_type(cx, method);
        check_not_shadowed(cx, method);
    }
    check_unique_wire_names(cx, methods);
}

/// Names a call through `Remote<T>` reaches before the proxy's methods in every module:
/// `Remote`'s own, and those of the prelude's traits it implements (`Clone`, `ToOwned`,
/// `Into`, `TryInto`). (Traits a module must import, such as `Debug`, are left out.)
const REMOTE_OWN_METHODS: &[&str] = &[
    "same_object",
    "is_disconnected",
    "disconnected",
    "with_timeout",
    "clone",
    "clone_from",
    "to_owned",
    "clone_into",
    "into",
    "try_into",
];

/// An exposed method named as one of `Remote`'s own would never be called through it:
/// `remote.disconnected()` waits for the connection to close instead of calling the peer.
fn check_not_shadowed(cx: &Ctxt, method: &ExposedMethod) {
    let name = method.ident.unraw().to_string();
    if REMOTE_OWN_METHODS.contains(&name.as_str()) {
        cx.error_spanned_by(
            &method.ident,
            format!(
                "`{name}` is a method of `Remote<T>` itself, which a call through a `Remote` would reach instead of this one: give this method another Rust name, and keep `{name}` on the wire with `#[tartine(rename = \"{name}\")]`"
            ),
        );
    }
}

/// In a trait, `Self` is the server's type, which the client does not know: only the
/// caller's avatar of a viewable may name it (`&Self::Avatar`).
fn check_no_self_on_the_wire(cx: &Ctxt, method: &ExposedMethod) {
    let message = "the types that cross the wire cannot name `Self`: a client knows the interface, not the server's type";
    for param in &method.params {
        if !param.injected && mentions_self(param.ty.to_token_stream()) {
            cx.error_spanned_by(&param.ty, message);
        }
    }
    if let syn::ReturnType::Type(_, ty) = &method.sig.output
        && mentions_self(ty.to_token_stream())
    {
        cx.error_spanned_by(ty, message);
    }
}

fn mentions_self(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "Self",
        TokenTree::Group(group) => mentions_self(group.stream()),
        _ => false,
    })
}

fn check_no_impl_generics(cx: &Ctxt, item: &ItemImpl, model: &ExposedImpl) {
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &item.generics,
            format!(
                "{} does not support generic impl blocks: a remote object has one concrete type",
                model.kind.attribute()
            ),
        );
    }
}

fn check_viewer(cx: &Ctxt, kind: Kind, method: &ExposedMethod) {
    if kind != Kind::Viewable || method.viewer.is_some() {
        return;
    }
    let message = "`#[viewable]` methods take the caller's avatar as first parameter after `&self`, such as `from: &User` or `from: Arc<User>`; the runtime supplies it";
    let first = method
        .sig
        .inputs
        .iter()
        .find(|input| matches!(input, FnArg::Typed(_)));
    match first {
        Some(first) => cx.error_spanned_by(first, message),
        None => cx.error_spanned_by(&method.ident, message),
    }
}

fn check_receiver(cx: &Ctxt, method: &ExposedMethod) {
    let Some(receiver) = method.sig.receiver() else {
        return;
    };
    let message = match &receiver.kind {
        syn::ReceiverKind::Reference(_, _, None) => return,
        syn::ReceiverKind::Reference(_, _, Some(_)) => {
            "exposed methods take `&self`, not `&mut self`: many callers share the object; keep mutable state behind a `Mutex` or atomics"
        }
        syn::ReceiverKind::Value => {
            "exposed methods take `&self`, not `self`: the object stays with its owner and is shared by every caller"
        }
        _ => "exposed methods take `&self`; other receiver types are not supported",
    };
    cx.error_spanned_by(receiver, message);
}

fn check_no_method_generics(cx: &Ctxt, method: &ExposedMethod) {
    let generics = &method.sig.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        cx.error_spanned_by(
            generics,
            "exposed methods cannot be generic: each parameter needs one concrete type on the wire",
        );
    }
}

fn check_plain_fn(cx: &Ctxt, method: &ExposedMethod) {
    let sig = &method.sig;
    if let syn::Safety::Unsafe(token) = &sig.safety {
        cx.error_spanned_by(
            token,
            "exposed methods cannot be `unsafe`: a peer could call them",
        );
    }
    if let Some(token) = &sig.constness {
        cx.error_spanned_by(token, "exposed methods cannot be `const fn`");
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(abi, "exposed methods cannot declare an ABI");
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "exposed methods cannot be variadic");
    }
}

fn check_param_types(cx: &Ctxt, method: &ExposedMethod) {
    for param in method.params.iter().filter(|param| !param.injected) {
        if let Err(hiding) =
            crate::types::handed_back(&param.ty, proc_macro2::TokenStream::new(), 0)
        {
            cx.error_spanned_by(
                &*hiding,
                "a `Local<T>` parameter is decoded where the macro sees it: alone, or in `Vec`, `VecDeque`, `Option`, `Box`, a tuple or an array; inside this type, hold a `Ref<..>`, which reads the same on both sides",
            );
        }
    }
    for param in &method.params {
        // The injected viewer is borrowed by design; only what crosses the wire is looked into.
        let found = if param.injected {
            matches!(param.ty, Type::ImplTrait(_)).then_some(&param.ty)
        } else {
            not_on_the_wire(&param.ty)
        };
        match found {
            Some(Type::ImplTrait(ty)) => cx.error_spanned_by(
                ty,
                "exposed methods cannot take `impl Trait`: each parameter needs one concrete type on the wire",
            ),
            Some(Type::Reference(ty)) => cx.error_spanned_by(
                ty,
                "parameters of exposed methods arrive by value: take an owned type, such as `String` for `&str` or `Local<T>` for a reference to one of your objects",
            ),
            _ => {}
        }
    }
}

/// The first borrowed type (`&T`) or `impl Trait` in `ty`, at any depth (`Option<&str>`,
/// `Vec<impl Display>`, `(&[u8], u32)`): neither has one concrete, owned form on the wire.
fn not_on_the_wire(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Reference(_) | Type::ImplTrait(_) => Some(ty),
        Type::Paren(inner) => not_on_the_wire(&inner.elem),
        Type::Group(inner) => not_on_the_wire(&inner.elem),
        Type::Array(array) => not_on_the_wire(&array.elem),
        Type::Slice(slice) => not_on_the_wire(&slice.elem),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(not_on_the_wire),
        Type::Path(path) => path
            .qself
            .as_ref()
            .and_then(|qself| not_on_the_wire(&qself.ty))
            .or_else(|| {
                path.path.segments.iter().find_map(|segment| {
                    let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments else {
                        return None;
                    };
                    arguments.args.iter().find_map(|argument| match argument {
                        syn::GenericArgument::Type(ty) => not_on_the_wire(ty),
                        syn::GenericArgument::AssocType(assoc) => not_on_the_wire(&assoc.ty),
                        _ => None,
                    })
                })
            }),
        _ => None,
    }
}

fn check_return_type(cx: &Ctxt, method: &ExposedMethod) {
    let returned = match &method.output {
        crate::model::Output::Value(ty) => ty,
        crate::model::Output::Result { ok, .. } => ok,
    };
    if let Err(hiding) = crate::types::sent_back(returned, TokenStream::new()) {
        cx.error_spanned_by(
            &*hiding,
            "a returned `Remote<T>` is sent back where the macro sees it: alone, or in `Vec`, `VecDeque`, `Option`, `Box`, a tuple or an array; inside this type, hold a `Ref<..>`, which reads the same on both sides",
        );
    }
    if let syn::ReturnType::Type(_, ty) = &method.sig.output {
        if let Some(result) = result_alias(ty) {
            cx.error_spanned_by(
                result,
                "write the method's error type out, as in `Result<T, E>`: through an alias such as `io::Result<T>`, the macro cannot tell the method's own error from its value",
            );
        }
        match not_on_the_wire(ty) {
            Some(Type::ImplTrait(ty)) => cx.error_spanned_by(
                ty,
                "exposed methods cannot return `impl Trait`: the result needs one concrete type on the wire",
            ),
            Some(Type::Reference(ty)) => cx.error_spanned_by(
                ty,
                "exposed methods return owned values: a borrowed result cannot cross the wire",
            ),
            _ => {}
        }
    }
}

/// The last segment of a return type named `Result` that does not spell out two type
/// arguments (an alias), which the macro would otherwise read as a plain value.
fn result_alias(ty: &Type) -> Option<&syn::PathSegment> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let types = match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter(|arg| matches!(arg, syn::GenericArgument::Type(_)))
            .count(),
        _ => 0,
    };
    (types != 2).then_some(last)
}

/// Wire names are unique in a block. Two methods may share one only when both are under
/// `#[cfg]` attributes, and different ones (`#[cfg(unix)]`, `#[cfg(not(unix))]`): each then
/// exists where the other does not. (The macro cannot tell overlapping ones, such as `unix`
/// and `any(unix)`, from exclusive ones: keep the `#[cfg]`s of methods sharing a name
/// exclusive.)
fn check_unique_wire_names(cx: &Ctxt, methods: &[ExposedMethod]) {
    let cfgs = |method: &ExposedMethod| -> Vec<String> {
        method
            .cfgs()
            .map(|attr| attr.to_token_stream().to_string())
            .collect()
    };
    for (index, method) in methods.iter().enumerate() {
        let clash = methods[..index].iter().find(|earlier| {
            earlier.wire_name == method.wire_name && {
                let (theirs, ours) = (cfgs(earlier), cfgs(method));
                theirs.is_empty() || ours.is_empty() || theirs == ours
            }
        });
        if let Some(first) = clash {
            cx.push(syn::Error::new(
                method.wire_name_span,
                format!(
                    "exposed methods `{}` and `{}` share the wire name `{}`; give one another name with `#[tartine(rename = \"..\")]`",
                    first.ident, method.ident, method.wire_name
                ),
            ));
        }
    }
}
