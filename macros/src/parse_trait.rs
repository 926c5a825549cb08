//! Reads the trait forms into the model: an interface trait of a protocol crate, and a
//! server's `impl Trait for Type` of one.

use crate::args::Args;
use crate::ctxt::Ctxt;
use crate::model::{ExposedTrait, Kind, TraitImpl};
use crate::parse::{hidden_method, method, self_ident};
use syn::{ItemImpl, ItemTrait, TraitItem};

/// Builds the model of the interface trait `item`, stripping helper attributes from it.
/// Returns `None` when the trait cannot be modelled at all (its errors are in `cx`).
pub(crate) fn exposed_trait(
    cx: &Ctxt,
    kind: Kind,
    args: Args,
    item: &mut ItemTrait,
) -> Option<ExposedTrait> {
    let mut methods = Vec::new();
    let mut hidden = Vec::new();
    for trait_item in &mut item.items {
        match trait_item {
            TraitItem::Fn(function) => {
                match method(cx, kind, &mut function.attrs, true, &function.sig) {
                    Some(method) => methods.push(method),
                    None => hidden.extend(hidden_method(&function.attrs, &function.sig)),
                }
            }
            TraitItem::Type(ty) if kind == Kind::Viewable => {
                if !ty.generics.params.is_empty() {
                    cx.error_spanned_by(
                        &ty.generics,
                        "the avatar type of a viewable trait cannot be generic",
                    );
                }
            }
            TraitItem::Type(ty) => cx.error_spanned_by(
                &ty.ident,
                format!(
                    "an interface trait holds methods only; an associated type is the caller's avatar of a `#[viewable]` trait, and this trait is {}",
                    kind.attribute()
                ),
            ),
            other => cx.error_spanned_by(
                other,
                "an interface trait holds methods only (and, in a `#[viewable]` trait, the type of the caller's avatar)",
            ),
        }
    }
    Some(ExposedTrait {
        kind,
        ident: item.ident.clone(),
        name: args.name,
        methods,
        hidden,
    })
}

/// Builds the model of `impl Trait for Type`, whose methods the trait declares. Method options
/// (`#[tartine(..)]`) belong to the trait: any found here are stripped and reported.
pub(crate) fn trait_impl(
    cx: &Ctxt,
    kind: Kind,
    args: Args,
    item: &mut ItemImpl,
) -> Option<TraitImpl> {
    for impl_item in &mut item.items {
        if let syn::ImplItem::Fn(function) = impl_item {
            function.attrs.retain(|attr| {
                let helper = attr.path().is_ident(crate::names::HELPER_ATTR);
                if helper {
                    cx.error_spanned_by(
                        attr,
                        "a method's options (`spawn`, `timeout`, `rename`, `skip`) belong to the interface: set them on the trait's declaration of the method, where every implementation and every client sees them",
                    );
                }
                !helper
            });
        }
    }
    if let Some(name) = &args.name {
        cx.error_spanned_by(
            name,
            "the wire name belongs to the interface: set it on the trait, `#[referenceable(name = \"..\")] trait ..`",
        );
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &item.generics,
            format!(
                "{} does not support generic impl blocks: a remote object has one concrete type",
                kind.attribute()
            ),
        );
    }
    let (trait_path, _) = item.trait_.as_ref()?;
    let self_ident = self_ident(cx, kind, &item.self_ty)?;
    Some(TraitImpl {
        kind,
        self_ident,
        trait_path: trait_path.clone(),
    })
}
