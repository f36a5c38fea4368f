//! Test utilities for gwi connectors: scripted HTTP, an in-memory store, the connector contract suite.

pub mod mock_http;
pub use mock_http::{MockHttpClient, MockResponse, RecordedRequest, RouteBuilder};
