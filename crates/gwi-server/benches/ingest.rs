//! Ingest throughput benchmark (written below).
fn main() {}
