//! One subcommand per API operation, read from the operation table of `spoki-models`.

pub mod run;
pub mod table;

pub use table::{command_name, commands_of, groups};

use spoki_client::models::operation::{self, Operation};

/// The command `spoki GROUP NAME`, by command names.
pub fn find(group: &str, name: &str) -> Option<&'static Operation> {
    operation::ALL
        .iter()
        .find(|op| run::kebab(op.group.as_str()) == group && command_name(op) == name)
}
