//! Test utilities for gwi connectors: scripted HTTP, an in-memory store, the connector contract suite.

mod contract;
pub mod mock_http;

pub use contract::{ContractReport, assert_connector_contract};
pub use mock_http::{MockHttpClient, MockResponse, RecordedRequest, RouteBuilder};
