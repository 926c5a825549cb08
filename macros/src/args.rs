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

/// The longest interface name: a peer's names are kept to 1 KiB (`wire::MAX_PEER_TEXT`), so a
/// longer one would never match on the other side.
const MAX_NAME: usize = 1024;

/// A wire name is printable ASCII without spaces, as in `chat.Group`, of at most 1 KiB.
fn check_name(name: &LitStr) -> syn::Result<()> {
    let value = name.value();
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(syn::Error::new(
            name.span(),
            "an interface name is printable ASCII without spaces, such as \"chat.Group\"",
        ));
    }
    if value.len() > MAX_NAME {
        return Err(syn::Error::new(
            name.span(),
            format!("an interface name is at most {MAX_NAME} bytes long"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_printable_ascii_of_at_most_1024_bytes() {
        let name = |text: &str| LitStr::new(text, proc_macro2::Span::call_site());
        assert!(check_name(&name("chat.Group")).is_ok());
        assert!(check_name(&name(&"a".repeat(MAX_NAME))).is_ok());
        assert!(check_name(&name(&"a".repeat(MAX_NAME + 1))).is_err());
        assert!(check_name(&name("chat Group")).is_err());
        assert!(check_name(&name("")).is_err());
    }
}
