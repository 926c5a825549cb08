//! Reads the arguments of the attribute itself: `#[referenceable(name = "chat.Group")]`.

use crate::ctxt::Ctxt;
use crate::model::Kind;
use proc_macro2::TokenStream;
use syn::LitStr;
use syn::parse::Parser;

/// `name = ".."`: the interface's name on the wire.
pub(crate) const NAME: &str = "name";

/// The attribute's arguments.
#[derive(Default)]
pub(crate) struct Args {
    /// The wire name, if set.
    pub(crate) name: Option<LitStr>,
}

/// Reads `args`; errors go to `cx`.
pub(crate) fn parse(cx: &Ctxt, kind: Kind, args: TokenStream) -> Args {
    let mut parsed = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident(NAME) {
            let name: LitStr = meta.value()?.parse()?;
            check_name(&name)?;
            parsed.name = Some(name);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown argument of {}; expected `{NAME} = \"..\"`, the interface's name on the wire",
                kind.attribute()
            )))
        }
    });
    if let Err(error) = parser.parse2(args) {
        cx.push(error);
    }
    parsed
}

/// A wire name is printable ASCII without spaces, as in `chat.Group`.
fn check_name(name: &LitStr) -> syn::Result<()> {
    let value = name.value();
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(syn::Error::new(
            name.span(),
            "an interface name is printable ASCII without spaces, such as \"chat.Group\"",
        ));
    }
    Ok(())
}
