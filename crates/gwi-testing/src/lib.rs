//! Test utilities for gwi connectors: scripted HTTP, an in-memory store, the connector contract,
//! and (feature `behaviour`) the connector behaviour suite against the sandbox.

#[cfg(feature = "behaviour")]
pub mod behaviour;
mod contract;
pub mod memory_store;
pub mod mock_http;
pub mod store_conformance;

pub use contract::{ContractReport, assert_connector_contract};
pub use memory_store::MemoryStore;
pub use mock_http::{MockHttpClient, MockResponse, RecordedRequest, RouteBuilder};
