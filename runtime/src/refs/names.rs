//! Provides the names of the interfaces one server hands out (or one client connection): a
//! peer knows an interface by its name alone, so two interfaces under one name would confuse
//! it. The first to be handed out keeps the name; the other is refused with a typed error,
//! never sent. A server also looks, before it starts, at every interface its signatures name
//! ([`check_unique_names`]).

use super::error::RefError;
use crate::lock::Lock;
use std::any::TypeId;
use std::collections::HashMap;

/// An interface's Rust identity: its type (`Echo`, `dyn chat::Group`) and that type's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InterfaceKey {
    pub(crate) id: TypeId,
    pub(crate) type_name: &'static str,
}

/// The interfaces handed out so far, by wire name.
#[derive(Debug, Default)]
pub(crate) struct InterfaceNames {
    claimed: Lock<HashMap<&'static str, InterfaceKey>>,
}

impl InterfaceNames {
    /// Records that `key` is handed out under `name`.
    ///
    /// # Errors
    /// [`RefError::DuplicateInterface`] if another interface was handed out under `name`.
    pub(crate) fn claim(&self, name: &'static str, key: InterfaceKey) -> Result<(), RefError> {
        let mut claimed = self.claimed.lock();
        match claimed.get(name) {
            Some(first) if first.id != key.id => Err(RefError::DuplicateInterface {
                name,
                first: first.type_name,
                second: key.type_name,
            }),
            Some(_) => Ok(()),
            None => {
                claimed.insert(name, key);
                Ok(())
            }
        }
    }
}

/// One interface as a server sees it before it starts: its wire name, its Rust type, and the
/// interfaces its signatures name. Used by generated code.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct InterfaceInfo {
    /// The wire name.
    pub name: &'static str,
    /// The interface's Rust type.
    pub id: TypeId,
    /// That type's name, for messages.
    pub type_name: &'static str,
    /// The interfaces its signatures name.
    pub references: fn() -> Vec<InterfaceInfo>,
}

/// Two interfaces under one wire name, among those a server can hand out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "two interfaces are named `{name}`: `{first}` and `{second}`; give one of them another `name = \"..\"`"
)]
pub struct DuplicateInterface {
    /// The wire name.
    pub name: &'static str,
    /// The interface seen first.
    pub first: &'static str,
    /// The other one.
    pub second: &'static str,
}

/// Walks the interfaces reachable from `roots` through their signatures; fails at the first
/// wire name two of them share.
pub(crate) fn check_unique_names(roots: &[InterfaceInfo]) -> Result<(), DuplicateInterface> {
    let mut named: HashMap<&'static str, InterfaceInfo> = HashMap::new();
    let mut to_visit: Vec<InterfaceInfo> = roots.to_vec();
    while let Some(info) = to_visit.pop() {
        match named.get(info.name) {
            Some(first) if first.id != info.id => {
                return Err(DuplicateInterface {
                    name: info.name,
                    first: first.type_name,
                    second: info.type_name,
                });
            }
            Some(_) => {}
            None => {
                named.insert(info.name, info);
                to_visit.extend((info.references)());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<T: ?Sized + 'static>() -> InterfaceKey {
        InterfaceKey {
            id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
        }
    }

    #[test]
    fn a_name_serves_one_interface() {
        let names = InterfaceNames::default();
        assert_eq!(names.claim("chat.Group", key::<u8>()), Ok(()));
        assert_eq!(names.claim("chat.Group", key::<u8>()), Ok(()), "again");
        assert_eq!(names.claim("chat.User", key::<u16>()), Ok(()));
        assert_eq!(
            names.claim("chat.Group", key::<u16>()),
            Err(RefError::DuplicateInterface {
                name: "chat.Group",
                first: "u8",
                second: "u16",
            })
        );
    }
}
