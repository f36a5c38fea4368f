//! The store conformance suite against `SqliteStore` (a file per case).

gwi_testing::store_conformance_tests!(crate::support::sqlite_harness);
