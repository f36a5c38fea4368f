//! Pieces every simulated provider shares: seeded randomness, timestamps, the mutation clock,
//! page-number pagination with `Link` headers, token checks, rate-limit accounting and a
//! generation-keyed response cache.

pub mod auth;
pub mod cache;
pub mod clock;
pub mod fmt;
pub mod page;
pub mod rate_limit;
pub mod rng;
pub mod time;
