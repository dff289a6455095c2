//! One subcommand per API operation, from the generated table.

pub mod generated;
pub mod run;
pub mod table;

use table::OpCommand;

/// A group's command name: `custom_fields` → `custom-fields`.
pub fn group_command(group: &str) -> String {
    group.replace('_', "-")
}

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
        .find(|c| group_command(c.operation.group) == group && c.name == name)
}
