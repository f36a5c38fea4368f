//! A provider's data, read by every request and changed by mutations.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Data behind a lock that a panicking handler cannot wedge: every change to it is one
/// mutation made under the write guard, so what a panic leaves behind is still whole.
#[derive(Default)]
pub struct Shared<T>(RwLock<T>);

impl<T> Shared<T> {
    /// `value`, shared.
    pub fn new(value: T) -> Self {
        Self(RwLock::new(value))
    }

    /// Reads the data.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the data.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}
