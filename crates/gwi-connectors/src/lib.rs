//! Built-in gwi connectors, one module per provider, each behind a cargo feature.

use gwi_core::registry::Registry;

/// A registry holding every connector this build includes.
pub fn registry() -> Registry {
    Registry::new()
}
