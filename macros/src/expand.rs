//! Runs one macro: parse, check, then generate or fall back, for each form the attributes take:
//! an `impl` block, an interface trait, or a server's `impl Trait for Type`.

use crate::ctxt::Ctxt;
use crate::model::Kind;
use crate::{args, check, fallback, generate, parse, parse_trait};
use proc_macro2::TokenStream;
use syn::{Item, ItemImpl, ItemTrait};

/// Expands `#[kind(args)]` on `input`.
pub(crate) fn run(kind: Kind, args: TokenStream, input: TokenStream) -> TokenStream {
    let output = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Impl(item)) if item.trait_.is_some() => trait_impl(kind, args, item),
        Ok(Item::Impl(item)) => inherent_impl(kind, args, item),
        Ok(Item::Trait(item)) => interface_trait(kind, args, item),
        _ => {
            let error = syn::Error::new_spanned(
                &input,
                format!(
                    "{} goes on an `impl` block, such as `impl Echo {{ .. }}`, or on the trait of a protocol crate, such as `trait Echo {{ .. }}`",
                    kind.attribute()
                ),
            );
            let error = error.into_compile_error();
            quote::quote! { #input #error }
        }
    };
    if std::env::var_os("TARTINE_MACROS_DEBUG").is_some() {
        eprintln!("{output}");
    }
    output
}

fn inherent_impl(kind: Kind, args: TokenStream, mut item: ItemImpl) -> TokenStream {
    let cx = Ctxt::default();
    let args = args::parse(&cx, kind, args);
    let model = parse::exposed_impl(&cx, kind, args, &mut item);
    if let Some(model) = &model {
        check::all(&cx, &item, model);
    }
    match (cx.finish(), &model) {
        (Ok(()), Some(model)) => generate::all(&item, model),
        (Err(error), model) => fallback::emit(&item, model.as_ref(), error),
        (Ok(()), None) => fallback::emit(
            &item,
            None,
            syn::Error::new_spanned(&item.self_ty, "cannot expose this impl block"),
        ),
    }
}

fn interface_trait(kind: Kind, args: TokenStream, mut item: ItemTrait) -> TokenStream {
    let cx = Ctxt::default();
    let args = args::parse(&cx, kind, args);
    let model = parse_trait::exposed_trait(&cx, kind, args, &mut item);
    if let Some(model) = &model {
        check::all_trait(&cx, &item, model);
    }
    match (cx.finish(), &model) {
        (Ok(()), Some(model)) => generate::interface_trait(&item, model),
        (Err(error), _) => fallback::emit_trait(&item, kind, error),
        (Ok(()), None) => fallback::emit_trait(
            &item,
            kind,
            syn::Error::new_spanned(&item.ident, "cannot expose this trait"),
        ),
    }
}

fn trait_impl(kind: Kind, args: TokenStream, mut item: ItemImpl) -> TokenStream {
    let cx = Ctxt::default();
    let args = args::parse(&cx, kind, args);
    let model = parse_trait::trait_impl(&cx, kind, args, &mut item);
    match (cx.finish(), &model) {
        (Ok(()), Some(model)) => generate::trait_implementation(&item, model),
        (Err(error), _) => {
            let errors = error.into_compile_error();
            quote::quote! { #item #errors }
        }
        (Ok(()), None) => quote::quote! { #item },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors_of(kind: Kind, item: TokenStream) -> Vec<String> {
        let output = run(kind, TokenStream::new(), item).to_string();
        output
            .split("compile_error !")
            .skip(1)
            .map(|rest| rest.split('"').nth(1).unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn a_clean_block_expands_without_errors() {
        let errors = errors_of(
            Kind::Referenceable,
            quote! {
                impl Echo {
                    pub async fn echo(&self, text: String) -> String { text }
                    fn helper(&self) {}
                }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn every_broken_rule_is_reported_together() {
        let errors = errors_of(
            Kind::Referenceable,
            quote! {
                impl Messy {
                    pub fn one(&mut self) {}
                    pub fn two<T>(&self, value: T) {}
                    pub fn three(&self, text: &str) {}
                    #[tartine(rename = "one")]
                    pub fn four(&self) {}
                }
            },
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("not `&mut self`"));
        assert!(errors[1].contains("cannot be generic"));
        assert!(errors[2].contains("arrive by value"));
        assert!(errors[3].contains("share the wire name `one`"));
    }

    #[test]
    fn viewables_need_the_avatar_first_and_avatars_do_not() {
        let viewable = errors_of(
            Kind::Viewable,
            quote! {
                impl Group {
                    pub fn send(&self, message: String) {}
                    pub fn members(&self, from: &User) -> Vec<String> { Vec::new() }
                }
            },
        );
        assert_eq!(viewable.len(), 1, "{viewable:?}");
        assert!(viewable[0].contains("caller's avatar as first parameter"));
        let avatar = errors_of(
            Kind::Avatar,
            quote! {
                impl User {
                    pub fn name(&self) -> String { String::new() }
                }
            },
        );
        assert!(avatar.is_empty(), "{avatar:?}");
    }

    #[test]
    fn anything_but_an_impl_block_is_refused() {
        let errors = errors_of(
            Kind::Referenceable,
            quote!(
                pub struct Echo;
            ),
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("goes on an `impl` block"));
        assert!(errors[0].contains("or on the trait of a protocol crate"));
    }
}
