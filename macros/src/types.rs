//! How parameter and result types look from the other side: `Local<T>` and `Remote<T>` swap,
//! a `Ref<I>` the method returns reaches the caller as `Remote<I>`, serde types stay as they
//! are, and other named types are left to the compiler to classify.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{GenericArgument, PathArguments, Type};

/// The kind of reference a path names, by its last segment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RefKind {
    Local,
    Remote,
    /// `Ref<I>`: local to the object's owner, remote elsewhere.
    Either,
}

/// The last segment's name and its one type argument, for types spelled like `Name<T>`.
pub(crate) fn single_type_argument(ty: &Type) -> Option<(&syn::Ident, &Type)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some((&last.ident, inner)),
        _ => None,
    }
}

fn ref_kind(ty: &Type) -> Option<(RefKind, &Type)> {
    let (name, inner) = single_type_argument(ty)?;
    if name == "Local" {
        Some((RefKind::Local, inner))
    } else if name == "Remote" {
        Some((RefKind::Remote, inner))
    } else if name == "Ref" {
        Some((RefKind::Either, inner))
    } else {
        None
    }
}

/// Whether `ty` mentions `Local<..>` or `Remote<..>` anywhere.
pub(crate) fn contains_reference(ty: &Type) -> bool {
    if ref_kind(ty).is_some() {
        return true;
    }
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .iter()
            .any(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| match arg {
                    GenericArgument::Type(inner) => contains_reference(inner),
                    _ => false,
                }),
                _ => false,
            }),
        Type::Tuple(tuple) => tuple.elems.iter().any(contains_reference),
        Type::Array(array) => contains_reference(&array.elem),
        Type::Slice(slice) => contains_reference(&slice.elem),
        Type::Paren(paren) => contains_reference(&paren.elem),
        Type::Group(group) => contains_reference(&group.elem),
        _ => false,
    }
}

/// `ty` as the other side sees it: every `Local<X>` becomes `Remote<X>` and back.
pub(crate) fn swapped(ty: &Type) -> Type {
    swap(
        ty,
        &mut |inner| syn::parse_quote!(::tartine::Remote<#inner>),
        false,
    )
}

/// `ty` as the other side sees it, with `local` making what each `Local<X>` becomes (given
/// `X` swapped). A `Ref<I>` stays one if `keep_refs` (what a caller passes: its own objects or
/// the callee's), and becomes `Remote<I>` otherwise (what a method returns reaches the caller
/// as the callee's object).
fn swap(ty: &Type, local: &mut dyn FnMut(&Type) -> Type, keep_refs: bool) -> Type {
    if let Some((kind, inner)) = ref_kind(ty) {
        let inner = swap(inner, local, keep_refs);
        return match kind {
            RefKind::Local => local(&inner),
            RefKind::Remote => syn::parse_quote!(::tartine::Local<#inner>),
            RefKind::Either if keep_refs => syn::parse_quote!(::tartine::Ref<#inner>),
            // Ours where it is sent from, so the peer's where it arrives.
            RefKind::Either => syn::parse_quote!(::tartine::Remote<#inner>),
        };
    }
    let mut ty = ty.clone();
    match &mut ty {
        Type::Path(path) => {
            for segment in &mut path.path.segments {
                if let PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        if let GenericArgument::Type(inner) = arg {
                            *inner = swap(inner, local, keep_refs);
                        }
                    }
                }
            }
        }
        Type::Tuple(tuple) => {
            for elem in &mut tuple.elems {
                *elem = swap(elem, local, keep_refs);
            }
        }
        Type::Array(array) => *array.elem = swap(&array.elem, local, keep_refs),
        Type::Slice(slice) => *slice.elem = swap(&slice.elem, local, keep_refs),
        Type::Paren(paren) => *paren.elem = swap(&paren.elem, local, keep_refs),
        Type::Group(group) => *group.elem = swap(&group.elem, local, keep_refs),
        _ => {}
    }
    ty
}

/// Names of standard types that always cross by value.
const BY_VALUE: &[&str] = &[
    "bool",
    "char",
    "str",
    "String",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "Vec",
    "VecDeque",
    "Option",
    "HashMap",
    "BTreeMap",
    "HashSet",
    "BTreeSet",
    "Box",
    "Bytes",
    "ByteBuf",
    "Duration",
    "SystemTime",
    "Cow",
];

/// Whether `ty` is plainly a serde value: a tuple, an array or a standard type.
fn plainly_by_value(ty: &Type) -> bool {
    match ty {
        Type::Tuple(_) | Type::Array(_) => true,
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| BY_VALUE.iter().any(|name| segment.ident == name)),
        Type::Paren(paren) => plainly_by_value(&paren.elem),
        Type::Group(group) => plainly_by_value(&group.elem),
        _ => false,
    }
}

/// How a returned type reaches the caller.
pub(crate) enum ReturnShape {
    /// Serialized as it is; the caller receives `peer`.
    Direct { peer: Box<Type> },
    /// A named type the compiler classifies through `Returns<M>` (serde value, or
    /// referenceable object arriving as `Remote<T>`).
    Inferred,
    /// `Option<X>` or `Vec<X>` of a named type `X` the compiler classifies.
    Wrapped { wrapper: Wrapper, inner: Box<Type> },
}

/// A standard container the macros see through when classifying a returned type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrapper {
    Option,
    Vec,
}

/// The container and element of `Option<X>` / `Vec<X>`.
fn wrapped(ty: &Type) -> Option<(Wrapper, &Type)> {
    let (name, inner) = single_type_argument(ty)?;
    if name == "Option" {
        Some((Wrapper::Option, inner))
    } else if name == "Vec" {
        Some((Wrapper::Vec, inner))
    } else {
        None
    }
}

/// How `ty`, returned by an exposed method, reaches the caller.
pub(crate) fn return_shape(ty: &Type) -> ReturnShape {
    if contains_reference(ty) {
        return ReturnShape::Direct {
            peer: Box::new(swapped(ty)),
        };
    }
    if let Some((wrapper, inner)) = wrapped(ty)
        && matches!(return_shape(inner), ReturnShape::Inferred)
    {
        return ReturnShape::Wrapped {
            wrapper,
            inner: Box::new(inner.clone()),
        };
    }
    if plainly_by_value(ty) {
        ReturnShape::Direct {
            peer: Box::new(ty.clone()),
        }
    } else {
        ReturnShape::Inferred
    }
}

/// Converts the value `expr` of a type of shape `shape` into what is serialized.
pub(crate) fn to_wire(shape: &ReturnShape, expr: TokenStream, span: Span) -> TokenStream {
    match shape {
        ReturnShape::Direct { .. } => expr,
        ReturnShape::Inferred => quote_spanned!(span=> ::tartine::__private::into_wire(#expr)),
        ReturnShape::Wrapped {
            wrapper: Wrapper::Option,
            ..
        } => quote_spanned!(span=> #expr.map(::tartine::__private::into_wire)),
        ReturnShape::Wrapped {
            wrapper: Wrapper::Vec,
            ..
        } => quote_spanned! {span=>
            ::core::iter::Iterator::collect::<::std::vec::Vec<_>>(
                ::core::iter::Iterator::map(
                    ::core::iter::IntoIterator::into_iter(#expr),
                    ::tartine::__private::into_wire,
                ),
            )
        },
    }
}

/// The type the caller receives for a returned `ty`, with the bound on the generic `marker`
/// the proxy method needs when the compiler must classify it.
pub(crate) fn peer_type(ty: &Type, marker: &TokenStream) -> (TokenStream, Option<TokenStream>) {
    match return_shape(ty) {
        ReturnShape::Direct { peer } => (quote!(#peer), None),
        ReturnShape::Inferred => (
            quote!(<#ty as ::tartine::__private::Returns<#marker>>::Peer),
            Some(quote!(#ty: ::tartine::__private::Returns<#marker>)),
        ),
        ReturnShape::Wrapped { wrapper, inner } => {
            let peer = quote!(<#inner as ::tartine::__private::Returns<#marker>>::Peer);
            let container = match wrapper {
                Wrapper::Option => quote!(::core::option::Option<#peer>),
                Wrapper::Vec => quote!(::std::vec::Vec<#peer>),
            };
            (
                container,
                Some(quote!(#inner: ::tartine::__private::Returns<#marker>)),
            )
        }
    }
}

/// How the proxy takes a parameter declared as `ty`.
pub(crate) struct ProxyParam {
    /// The parameter's type on the proxy.
    pub(crate) ty: TokenStream,
    /// The expression that turns the parameter into what is encoded.
    pub(crate) value: TokenStream,
    /// The type parameters of the proxy method the type needs, each with its bound.
    pub(crate) generics: Vec<(syn::Ident, TokenStream)>,
}

/// How the proxy takes a parameter declared as `ty`, named `name`; the type parameters it
/// needs are named from `prefix`.
///
/// Where the method declares `Local<X>`, the caller hands back a reference to `X`'s interface
/// (the type itself for an `impl` block). The interface is a type parameter of the proxy
/// method, bound by `X: HandsBack<I>` where the method is called (rustc infers it from the
/// one impl): so an `X` that is not referenceable is the dispatch's one error, at the user's
/// type, and not one more here.
pub(crate) fn proxy_param(ty: &Type, name: &syn::Ident, prefix: &str) -> ProxyParam {
    let mut generics = Vec::new();
    let mut interface = |inner: &Type| {
        let generic = quote::format_ident!("{}_{}", prefix, generics.len());
        let span = syn::spanned::Spanned::span(inner);
        let bound = quote_spanned!(span=> #inner: ::tartine::__private::HandsBack<#generic>);
        generics.push((generic.clone(), bound));
        generic
    };
    match ref_kind(ty) {
        Some((RefKind::Local, inner)) => {
            let generic = interface(inner);
            ProxyParam {
                ty: quote!(&::tartine::Remote<#generic>),
                value: quote!(::tartine::__private::SentBack::of(#name)),
                generics,
            }
        }
        Some((RefKind::Remote, inner)) => {
            let inner = swapped(inner);
            ProxyParam {
                ty: quote!(impl ::core::convert::Into<::tartine::Local<#inner>>),
                value: quote!(::core::convert::Into::<::tartine::Local<#inner>>::into(#name)),
                generics,
            }
        }
        Some((RefKind::Either, inner)) => ProxyParam {
            ty: quote!(impl ::core::convert::Into<::tartine::Ref<#inner>>),
            value: quote!(::core::convert::Into::<::tartine::Ref<#inner>>::into(#name)),
            generics,
        },
        None => {
            let peer = swap(
                ty,
                &mut |inner| {
                    let generic = interface(inner);
                    syn::parse_quote!(::tartine::Remote<#generic>)
                },
                true,
            );
            // Where the macro cannot see a `Remote` (a `Local` of the declared type hidden in a
            // type of the user's), the checks say so.
            let value = sent_back(&peer, quote!(#name)).unwrap_or_else(|_| quote!(#name));
            ProxyParam {
                ty: quote!(#peer),
                value,
                generics,
            }
        }
    }
}

/// Whether `ty` mentions `Local<..>` anywhere.
pub(crate) fn contains_local(ty: &Type) -> bool {
    mentions(ty, "Local")
}

/// Whether `ty` mentions `Remote<..>` anywhere.
pub(crate) fn contains_remote(ty: &Type) -> bool {
    mentions(ty, "Remote")
}

fn mentions(ty: &Type, name: &str) -> bool {
    quote::ToTokens::to_token_stream(ty)
        .into_iter()
        .any(|token| token_mentions(&token, name))
}

fn token_mentions(token: &proc_macro2::TokenTree, name: &str) -> bool {
    match token {
        proc_macro2::TokenTree::Ident(ident) => ident == name,
        proc_macro2::TokenTree::Group(group) => group
            .stream()
            .into_iter()
            .any(|token| token_mentions(&token, name)),
        _ => false,
    }
}

/// The containers the macros see a `Local<T>` or `Remote<T>` through.
const SEE_THROUGH: &[&str] = &["Vec", "VecDeque", "Option", "Box"];

/// The two references that cross the wire only where the generated code sees them, and what
/// stands in their place there.
#[derive(Clone, Copy)]
enum Mirror {
    /// A parameter's `Local<X>`, decoded as `HandedBack<X>` and converted into the declared
    /// type (which the conversion's collections infer).
    HandedBack,
    /// An argument's or result's `Remote<X>`, encoded as `SentBack<X>` (collections become
    /// `Vec`s, which encode the same).
    SentBack,
}

impl Mirror {
    fn kind(self) -> RefKind {
        match self {
            Mirror::HandedBack => RefKind::Local,
            Mirror::SentBack => RefKind::Remote,
        }
    }

    fn mentioned_by(self, ty: &Type) -> bool {
        match self {
            Mirror::HandedBack => contains_local(ty),
            Mirror::SentBack => contains_remote(ty),
        }
    }

    /// The stand-in for `inner`'s reference, and the conversion of one `value`.
    fn leaf(self, inner: &Type, value: TokenStream) -> (Type, TokenStream) {
        match self {
            Mirror::HandedBack => (
                // At the user's type: where it is not referenceable, the decode's error is
                // there.
                syn::parse_quote_spanned!(syn::spanned::Spanned::span(inner)=>
                    ::tartine::__private::HandedBack<#inner>
                ),
                quote!(::core::convert::Into::into(#value)),
            ),
            Mirror::SentBack => (
                syn::parse_quote!(::tartine::__private::SentBack<#inner>),
                quote!(::tartine::__private::SentBack::new(#value)),
            ),
        }
    }

    fn collect(
        self,
        value: TokenStream,
        element: &syn::Ident,
        conversion: TokenStream,
    ) -> TokenStream {
        let mapped = quote! {
            ::core::iter::Iterator::map(
                ::core::iter::IntoIterator::into_iter(#value),
                |#element| #conversion,
            )
        };
        match self {
            Mirror::HandedBack => quote!(::core::iter::Iterator::collect(#mapped)),
            Mirror::SentBack => {
                quote!(::core::iter::Iterator::collect::<::std::vec::Vec<_>>(#mapped))
            }
        }
    }
}

/// For a parameter type that holds `Local<T>`: the type decoded in its place (each
/// `Local<X>` as `HandedBack<X>`), and the expression that turns a decoded `value` of it back
/// into the declared type. `Err` names the type a `Local` hides in, where the conversion cannot
/// see (a generic type of the user's, such as `Either<Local<A>, Local<B>>`).
pub(crate) fn handed_back(
    ty: &Type,
    value: TokenStream,
    depth: usize,
) -> Result<(Type, TokenStream), Box<Type>> {
    mirrored(Mirror::HandedBack, ty, value, depth)
}

/// For a type that holds `Remote<T>`, sent as an argument or a result: the expression that
/// turns `value` of it into what is encoded in its place (each `Remote<X>` as `SentBack<X>`).
/// `Err` names the type a `Remote` hides in, where the conversion cannot see.
pub(crate) fn sent_back(ty: &Type, value: TokenStream) -> Result<TokenStream, Box<Type>> {
    mirrored(Mirror::SentBack, ty, value, 0).map(|(_, conversion)| conversion)
}

fn mirrored(
    mirror: Mirror,
    ty: &Type,
    value: TokenStream,
    depth: usize,
) -> Result<(Type, TokenStream), Box<Type>> {
    if !mirror.mentioned_by(ty) {
        return Ok((ty.clone(), value));
    }
    if let Some((kind, inner)) = ref_kind(ty)
        && kind == mirror.kind()
    {
        return Ok(mirror.leaf(inner, value));
    }
    let element = quote::format_ident!("__tartine_element{}", depth);
    match ty {
        Type::Paren(paren) => mirrored(mirror, &paren.elem, value, depth),
        Type::Group(group) => mirrored(mirror, &group.elem, value, depth),
        Type::Tuple(tuple) => {
            let names: Vec<_> = (0..tuple.elems.len())
                .map(|index| quote::format_ident!("__tartine_field{}_{}", depth, index))
                .collect();
            let mut mirrors = Vec::new();
            let mut converted = Vec::new();
            for (elem, name) in tuple.elems.iter().zip(&names) {
                let (elem, conversion) = mirrored(mirror, elem, quote!(#name), depth + 1)?;
                mirrors.push(elem);
                converted.push(conversion);
            }
            Ok((
                syn::parse_quote!((#(#mirrors,)*)),
                quote!({ let (#(#names,)*) = #value; (#(#converted,)*) }),
            ))
        }
        Type::Array(array) => {
            let (elem, conversion) = mirrored(mirror, &array.elem, quote!(#element), depth + 1)?;
            let len = &array.len;
            Ok((
                syn::parse_quote!([#elem; #len]),
                quote!(#value.map(|#element| #conversion)),
            ))
        }
        Type::Path(_) => {
            let Some((name, inner)) = single_type_argument(ty) else {
                return Err(Box::new(ty.clone()));
            };
            if !SEE_THROUGH.iter().any(|see| name == see) {
                return Err(Box::new(ty.clone()));
            }
            let (elem, conversion) = mirrored(mirror, inner, quote!(#element), depth + 1)?;
            let mut mirrored = ty.clone();
            if let Type::Path(path) = &mut mirrored
                && let Some(last) = path.path.segments.last_mut()
                && let PathArguments::AngleBracketed(args) = &mut last.arguments
                && let Some(GenericArgument::Type(slot)) = args.args.first_mut()
            {
                *slot = elem;
            }
            let expression = if name == "Option" {
                quote!(#value.map(|#element| #conversion))
            } else if name == "Box" {
                quote!({ let #element = *#value; ::std::boxed::Box::new(#conversion) })
            } else {
                mirror.collect(value, &element, conversion)
            };
            Ok((mirrored, expression))
        }
        _ => Err(Box::new(ty.clone())),
    }
}

/// Every type `ty` is made of, itself included: its generic arguments, tuple and array
/// elements, at any depth. Types naming `Self` are left out (a client cannot name them).
pub(crate) fn component_types(ty: &Type, out: &mut Vec<Type>) {
    if quote::ToTokens::to_token_stream(ty)
        .into_iter()
        .any(|token| matches!(&token, proc_macro2::TokenTree::Ident(ident) if ident == "Self"))
    {
        return;
    }
    match ty {
        Type::Path(path) => {
            // `Local<X>` names `X`'s interface, as `X` does: `X` is probed in its place, so a
            // `Local` of a type that is not referenceable is one error, at the signature.
            if !matches!(ref_kind(ty), Some((RefKind::Local, _))) {
                out.push(ty.clone());
            }
            for segment in &path.path.segments {
                if let PathArguments::AngleBracketed(args) = &segment.arguments {
                    for arg in &args.args {
                        if let GenericArgument::Type(inner) = arg {
                            component_types(inner, out);
                        }
                    }
                }
            }
        }
        Type::Tuple(tuple) => tuple
            .elems
            .iter()
            .for_each(|elem| component_types(elem, out)),
        Type::Array(array) => component_types(&array.elem, out),
        Type::Slice(slice) => component_types(&slice.elem, out),
        Type::Paren(paren) => component_types(&paren.elem, out),
        Type::Group(group) => component_types(&group.elem, out),
        _ => {}
    }
}

/// `tokens` with each `Self` replaced by `with`.
pub(crate) fn replace_self(tokens: TokenStream, with: &TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "Self" => {
                let mut replaced = with.clone();
                replaced = replaced
                    .into_iter()
                    .map(|mut t| {
                        t.set_span(ident.span());
                        t
                    })
                    .collect();
                replaced
            }
            proc_macro2::TokenTree::Group(group) => {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), replace_self(group.stream(), with));
                inner.set_span(group.span());
                quote!(#inner)
            }
            other => quote!(#other),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn show(ty: &Type) -> String {
        ty.to_token_stream().to_string().replace(' ', "")
    }

    #[test]
    fn references_swap_at_any_depth() {
        let ty: Type = syn::parse_quote!(Vec<(Local<User>, Option<Remote<Mind>>)>);
        assert!(contains_reference(&ty));
        assert_eq!(
            show(&swapped(&ty)),
            "Vec<(::tartine::Remote<User>,Option<::tartine::Local<Mind>>)>"
        );
    }

    #[test]
    fn locals_are_decoded_through_std_containers_only() {
        let Ok((mirror, _)) = handed_back(
            &syn::parse_quote!(Vec<(u8, Option<Local<User>>)>),
            quote!(value),
            0,
        ) else {
            panic!("a Local in std containers is seen through")
        };
        assert_eq!(
            show(&mirror),
            "Vec<(u8,Option<::tartine::__private::HandedBack<User>>,)>"
        );
        let plain: Type = syn::parse_quote!(Vec<Remote<User>>);
        let Ok((unchanged, _)) = handed_back(&plain, quote!(value), 0) else {
            panic!("no Local, nothing to see through")
        };
        assert_eq!(show(&unchanged), "Vec<Remote<User>>");
        let hidden = handed_back(&syn::parse_quote!(Either<Local<A>, u8>), quote!(value), 0);
        assert_eq!(
            hidden.map(|_| ()).map_err(|ty| show(&ty)),
            Err("Either<Local<A>,u8>".into())
        );
    }

    #[test]
    fn named_types_are_inferred_and_std_types_direct() {
        assert!(matches!(
            return_shape(&syn::parse_quote!(Counter)),
            ReturnShape::Inferred
        ));
        assert!(matches!(
            return_shape(&syn::parse_quote!(Vec<u8>)),
            ReturnShape::Direct { .. }
        ));
        assert!(matches!(
            return_shape(&syn::parse_quote!(())),
            ReturnShape::Direct { .. }
        ));
    }
}
