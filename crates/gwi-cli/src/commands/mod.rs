//! One module per `gwi` subcommand.

pub mod airbyte;
pub mod check;
pub mod common;
pub mod connectors;
pub mod demo;
pub mod records;
pub mod sandbox;
pub mod serve;
pub mod state;
pub mod status;
pub mod sync;
pub mod tap;
pub mod verify;
