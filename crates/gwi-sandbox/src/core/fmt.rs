//! Building URL strings inside JSON without allocating.

use std::fmt;

use serde::{Serialize, Serializer};

/// Pieces written one after another; serialises as one JSON string.
pub struct Cat<'a, const N: usize>(pub [&'a dyn fmt::Display; N]);

impl<const N: usize> fmt::Display for Cat<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in self.0 {
            part.fmt(f)?;
        }
        Ok(())
    }
}

impl<const N: usize> Serialize for Cat<'_, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `cat!(a, "/x/", n)` is a [`Cat`] of its arguments (each must outlive the expression's use).
#[macro_export]
#[doc(hidden)]
macro_rules! cat {
    ($($part:expr),+ $(,)?) => {
        $crate::core::fmt::Cat([$(&$part as &dyn ::std::fmt::Display),+])
    };
}
