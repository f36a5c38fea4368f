//! Test utilities for gwi connectors: scripted HTTP, an in-memory store, the connector contract suite.

pub mod memory_store;
pub mod store_conformance;

pub use memory_store::MemoryStore;
