//! One subcommand per API operation, from the generated table.

pub mod generated;
pub mod run;
pub mod table;

use table::OpCommand;

/// The resource groups, in spec order, each once.
pub fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for c in &generated::COMMANDS {
        if !groups.contains(&c.operation.group) {
            groups.push(c.operation.group);
        }
    }
    groups
}

/// The commands of one group.
pub fn commands_of(group: &str) -> impl Iterator<Item = &'static OpCommand> {
    generated::COMMANDS
        .iter()
        .filter(move |c| c.operation.group == group)
}

/// The command `spoki GROUP NAME`, by command names.
pub fn find(group: &str, name: &str) -> Option<&'static OpCommand> {
    generated::COMMANDS
        .iter()
        .find(|c| run::kebab(c.operation.group) == group && c.name == name)
}
