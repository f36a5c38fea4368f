//! Test utilities for gwi connectors: scripted HTTP, an in-memory store, the connector contract suite.

mod contract;

pub use contract::{ContractReport, assert_connector_contract};
