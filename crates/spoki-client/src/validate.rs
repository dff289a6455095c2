//! Checks on request bodies that the API would reject, made before anything is sent. The
//! rules come from the spec, with each operation (`Operation::body_rules`).

use crate::error::InputError;
use serde_json::Value;
use spoki_models::operation::Operation;

/// The most contacts one sync request may carry (the spec's `max_items` of `contacts_sync_all`
/// and of a list sync; a test keeps them equal).
pub const MAX_CONTACTS_PER_SYNC: usize = 500;

pub(crate) fn check(op: &Operation, body: &Value) -> Result<(), InputError> {
    spoki_models::constraint::check(op.body_rules, body).map_err(InputError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoki_models::constraint::Check;
    use spoki_models::operation::{CONTACTS_SYNC_ALL, LISTS_SYNC_CONTACTS};

    #[test]
    fn the_sync_limit_is_the_specs() {
        for op in [&CONTACTS_SYNC_ALL, &LISTS_SYNC_CONTACTS] {
            let max = op.body_rules.iter().find_map(|r| match r.check {
                Check::Items { max, .. } => max,
                _ => None,
            });
            assert_eq!(max, Some(MAX_CONTACTS_PER_SYNC), "{}", op.id);
        }
    }
}
