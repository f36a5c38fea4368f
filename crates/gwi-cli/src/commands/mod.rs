//! One module per `gwi` subcommand.

pub mod connectors;
pub mod serve;
