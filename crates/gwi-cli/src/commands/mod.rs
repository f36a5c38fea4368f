//! One module per `gwi` subcommand.

pub mod check;
pub mod common;
pub mod connectors;
pub mod sandbox;
pub mod serve;
