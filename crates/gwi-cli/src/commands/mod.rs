//! One module per `gwi` subcommand.

pub mod connectors;
