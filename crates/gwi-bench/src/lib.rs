//! Benchmark tools for gwi.
//!
//! * `gwi-bench-upstream` serves GitHub-shaped pull requests from memory, fast enough that the
//!   client under test is always the bottleneck, in any of several [`shape::Shape`]s.
//! * `gwi-bench-webhooks` sends GitHub-signed `pull_request` deliveries at a fixed offered rate
//!   (or as fast as it can) and reports throughput and latency.
//!
//! `bench/run.sh` at the workspace root drives both against `gwi`, a Singer SDK tap and dlt.

pub mod github;
pub mod latency;
pub mod pages;
pub mod shape;
pub mod upstream;
pub mod webhook;
