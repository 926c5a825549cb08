//! The model of an exposed `impl` block or interface trait, as parsing builds it and generation
//! reads it.

use proc_macro2::Ident;
use syn::{Attribute, Type};

/// Which macro is expanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[referenceable]`.
    Referenceable,
    /// `#[avatar]`: a referenceable that a login can yield.
    Avatar,
    /// `#[viewable]`: a referenceable whose methods receive the caller's avatar.
    Viewable,
}

impl Kind {
    /// The attribute as the user writes it, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Referenceable => "#[referenceable]",
            Kind::Avatar => "#[avatar]",
            Kind::Viewable => "#[viewable]",
        }
    }
}

/// An `impl` block with its exposed methods: the type is its own interface.
pub(crate) struct ExposedImpl {
    pub(crate) kind: Kind,
    /// The type the block implements.
    pub(crate) self_ident: Ident,
    /// The wire name set by `name = ".."`.
    pub(crate) name: Option<syn::LitStr>,
    pub(crate) methods: Vec<ExposedMethod>,
    /// Methods taking `self` that stay local: their names on the proxy fail to compile with a
    /// hint, rather than "no method named".
    pub(crate) hidden: Vec<HiddenMethod>,
}

/// A method with a receiver that peers cannot call: its name and its number of parameters.
pub(crate) struct HiddenMethod {
    pub(crate) ident: Ident,
    pub(crate) arity: usize,
    /// Its `#[cfg]` attributes, which its stand-in on the proxy keeps.
    pub(crate) cfgs: Vec<Attribute>,
}

/// An interface trait of a protocol crate: `dyn Trait` is the interface.
pub(crate) struct ExposedTrait {
    pub(crate) kind: Kind,
    pub(crate) ident: Ident,
    /// The wire name set by `name = ".."`.
    pub(crate) name: Option<syn::LitStr>,
    pub(crate) methods: Vec<ExposedMethod>,
    /// Methods with `#[tartine(skip)]`.
    pub(crate) hidden: Vec<HiddenMethod>,
}

/// `impl Trait for Type` of an interface trait: `Type` implements `dyn Trait`.
pub(crate) struct TraitImpl {
    pub(crate) kind: Kind,
    pub(crate) self_ident: Ident,
    pub(crate) trait_path: syn::Path,
}

/// One exposed method.
pub(crate) struct ExposedMethod {
    pub(crate) ident: Ident,
    /// The name on the wire (the method name unless renamed).
    pub(crate) wire_name: String,
    /// The span of the rename, or of the method name, for errors about the wire name.
    pub(crate) wire_name_span: proc_macro2::Span,
    pub(crate) is_async: bool,
    pub(crate) params: Vec<Param>,
    /// For `#[viewable]`: the caller's avatar parameter, which the runtime supplies.
    pub(crate) viewer: Option<Viewer>,
    pub(crate) output: Output,
    /// How long callers wait for the reply, if the method sets it.
    pub(crate) timeout: Option<Timeout>,
    /// Whether each call runs as a task of its own: `#[tartine(spawn)]`.
    pub(crate) spawn: bool,
    /// `#[doc]` and `#[cfg]` attributes, copied onto the proxy method.
    pub(crate) forwarded_attrs: Vec<Attribute>,
    /// The signature as written, for the checks.
    pub(crate) sig: syn::Signature,
}

impl ExposedMethod {
    /// Its `#[cfg]` attributes: what is generated for it exists only where it does.
    pub(crate) fn cfgs(&self) -> impl Iterator<Item = &Attribute> + Clone {
        cfg_attrs(&self.forwarded_attrs)
    }
}

/// The `#[cfg]` attributes among `attrs`.
pub(crate) fn cfg_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> + Clone {
    attrs.iter().filter(|attr| attr.path().is_ident("cfg"))
}

/// A method's own call timeout: `#[tartine(timeout = "..")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// `"none"`: callers wait for ever.
    Never,
    /// Callers wait at most this many milliseconds.
    Millis(u64),
}

/// The avatar parameter of a viewable method.
pub(crate) struct Viewer {
    /// The avatar type.
    pub(crate) ty: Type,
    /// Whether the method takes it as `Arc<A>` (else `&A`).
    pub(crate) shared: bool,
}

/// One parameter after `&self`.
pub(crate) struct Param {
    /// Whether the runtime supplies it (`&CallContext`) instead of the caller.
    pub(crate) injected: bool,
    /// The name on the proxy: the user's if it is a plain identifier.
    pub(crate) proxy_name: Ident,
    pub(crate) ty: Type,
}

/// What a method returns.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Output {
    /// A value, `()` included.
    Value(Type),
    /// `Result<T, E>`: `E` reaches the caller as the method's own error.
    Result { ok: Type, err: Type },
}
