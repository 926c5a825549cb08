//! The rules an exposed `impl` block must follow, one function each. Every check records its
//! errors and goes on, so the user sees all of them at once.

use crate::ctxt::Ctxt;
use crate::model::{ExposedImpl, ExposedMethod};
use std::collections::HashMap;
use syn::{FnArg, ItemImpl, Type};

/// Runs every check.
pub(crate) fn all(cx: &Ctxt, item: &ItemImpl, model: &ExposedImpl) {
    check_inherent_impl(cx, item, model);
    check_no_impl_generics(cx, item, model);
    for method in &model.methods {
        check_viewer(cx, model, method);
        check_receiver(cx, method);
        check_no_method_generics(cx, method);
        check_plain_fn(cx, method);
        check_param_types(cx, method);
        check_return_type(cx, method);
    }
    check_unique_wire_names(cx, &model.methods);
}

fn check_inherent_impl(cx: &Ctxt, item: &ItemImpl, model: &ExposedImpl) {
    if let Some((path, _)) = &item.trait_ {
        cx.error_spanned_by(
            path,
            format!(
                "{} goes on an inherent impl block such as `impl {}`, not on a trait impl",
                model.kind.attribute(),
                model.self_ident
            ),
        );
    }
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

fn check_viewer(cx: &Ctxt, model: &ExposedImpl, method: &ExposedMethod) {
    if model.kind != crate::model::Kind::Viewable || method.viewer.is_some() {
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
    for param in &method.params {
        match &param.ty {
            Type::ImplTrait(ty) => cx.error_spanned_by(
                ty,
                "exposed methods cannot take `impl Trait`: each parameter needs one concrete type on the wire",
            ),
            Type::Reference(_) if param.injected => {}
            Type::Reference(ty) => cx.error_spanned_by(
                ty,
                "parameters of exposed methods arrive by value: take an owned type, such as `String` for `&str` or `Local<T>` for a reference to one of your objects",
            ),
            _ => {}
        }
    }
}

fn check_return_type(cx: &Ctxt, method: &ExposedMethod) {
    if let syn::ReturnType::Type(_, ty) = &method.sig.output {
        match &**ty {
            Type::ImplTrait(ty) => cx.error_spanned_by(
                ty,
                "exposed methods cannot return `impl Trait`: the result needs one concrete type on the wire",
            ),
            Type::Reference(ty) => cx.error_spanned_by(
                ty,
                "exposed methods return owned values: a borrowed result cannot cross the wire",
            ),
            _ => {}
        }
    }
}

fn check_unique_wire_names(cx: &Ctxt, methods: &[ExposedMethod]) {
    let mut seen: HashMap<&str, &ExposedMethod> = HashMap::new();
    for method in methods {
        if let Some(first) = seen.insert(&method.wire_name, method) {
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
