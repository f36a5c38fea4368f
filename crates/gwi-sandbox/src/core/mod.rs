//! Pieces every simulated provider shares: seeded randomness, timestamps, the mutation clock,
//! page-number pagination with `Link` headers, body-token (cursor) paging, a GraphQL executor with Relay connections, token checks,
//! rate-limit accounting, a generation-keyed response cache, data shared under one lock, tables
//! of objects with their listing and mutations, and templates that render provider JSON from
//! recorded payloads.

pub mod auth;
pub mod cache;
pub mod clock;
pub mod cursor;
pub mod graphql;
pub mod page;
pub mod rate_limit;
pub mod rng;
pub mod shared;
pub mod table;
pub mod template;
pub mod time;
