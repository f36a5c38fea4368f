//! Pagination tests.
