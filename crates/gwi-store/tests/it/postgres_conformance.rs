//! The store conformance suite against `PostgresStore` (a schema per case).

gwi_testing::store_conformance_tests!(crate::support::postgres_harness);
