//! How the command line reads the operation table of `spoki-models`: each field's kind of
//! argument, and each operation's command name.

use spoki_client::models::operation::{self, FieldType, Group, Operation};

/// How an argument's text becomes a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Sent as a string.
    Text,
    /// An integer.
    Integer,
    /// A decimal number.
    Number,
    /// `true` or `false`.
    Bool,
    /// Anything else (lists, objects, enums of integers): the argument is JSON text.
    Json,
    /// A credential: the argument names the environment variable that holds it, and the flag
    /// is `--NAME-env`, so that the value stays out of `ps` and the shell's history.
    SecretEnv,
}

/// The kind of argument a field of this type is read from.
pub fn kind(ty: &FieldType) -> Kind {
    match ty {
        FieldType::Text
        | FieldType::Phone
        | FieldType::DateTime
        | FieldType::Date
        | FieldType::Enum { integer: false, .. } => Kind::Text,
        // Money is thousandths on the wire, an integer.
        FieldType::Integer | FieldType::Money => Kind::Integer,
        FieldType::Number => Kind::Number,
        FieldType::Bool => Kind::Bool,
        FieldType::Secret => Kind::SecretEnv,
        // Integer enums travel as numbers (the user types the number).
        FieldType::Enum { integer: true, .. }
        | FieldType::List(_)
        | FieldType::Map(_)
        | FieldType::Object(_)
        | FieldType::Any => Kind::Json,
    }
}

/// The name of an operation's subcommand inside its group: `rotate_secret` → `rotate-secret`.
pub fn command_name(op: &Operation) -> String {
    super::run::kebab(op.name)
}

/// The resource groups, in spec order.
pub fn groups() -> &'static [Group] {
    &Group::ALL
}

/// The operations of one group, in spec order.
pub fn commands_of(group: Group) -> impl Iterator<Item = &'static Operation> {
    operation::ALL.iter().filter(move |op| op.group == group)
}
