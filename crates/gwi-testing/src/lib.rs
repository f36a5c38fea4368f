//! Test utilities for gwi connectors: scripted HTTP, an in-memory store, the connector contract suite.
