//! Runs one macro: parse, check, then generate or fall back.

use crate::ctxt::Ctxt;
use crate::model::Kind;
use crate::{check, fallback, generate, parse};
use proc_macro2::TokenStream;
use syn::ItemImpl;

/// Expands `#[kind(args)]` on `input`.
pub(crate) fn run(kind: Kind, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item = match syn::parse2::<ItemImpl>(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &input,
                format!(
                    "{} goes on an `impl` block, such as `impl Echo {{ .. }}`",
                    kind.attribute()
                ),
            );
            let error = error.into_compile_error();
            return quote::quote! { #input #error };
        }
    };
    let cx = Ctxt::default();
    let model = parse::exposed_impl(&cx, kind, args, &mut item);
    if let Some(model) = &model {
        check::all(&cx, &item, model);
    }
    let output = match (cx.finish(), &model) {
        (Ok(()), Some(model)) => generate::all(&item, model),
        (Err(error), model) => fallback::emit(&item, model.as_ref(), error),
        (Ok(()), None) => fallback::emit(
            &item,
            None,
            syn::Error::new_spanned(&item.self_ty, "cannot expose this impl block"),
        ),
    };
    if std::env::var_os("TARTINE_MACROS_DEBUG").is_some() {
        eprintln!("{output}");
    }
    output
}
