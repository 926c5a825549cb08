//! Provides a mutex that shrugs off poisoning: the tables it guards stay consistent at every
//! step, so a panic elsewhere must not take the connection down with it.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A `std` mutex whose `lock` never fails.
#[derive(Debug, Default)]
pub(crate) struct Lock<T>(Mutex<T>);

impl<T> Lock<T> {
    pub(crate) fn new(value: T) -> Self {
        Lock(Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
