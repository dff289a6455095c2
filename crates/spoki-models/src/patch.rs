use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One field of a partial update (`PATCH`): leave it as it is, clear it, or set it.
///
/// Absent from the JSON when [`Patch::Unchanged`], `null` when [`Patch::Clear`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Patch<T> {
    /// Not sent: the server keeps its value.
    #[default]
    Unchanged,
    /// Sent as `null`: the server clears the field.
    Clear,
    /// Sent with this value.
    Set(T),
}

impl<T> Patch<T> {
    /// The value it sets, if it sets one.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(value) => Some(value),
            Patch::Unchanged | Patch::Clear => None,
        }
    }

    /// Whether the field is left out of the body.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, Patch::Unchanged)
    }

    /// The value being set, if any.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Set(value)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(v) => v.serialize(serializer),
            // `Unchanged` is skipped by the containing struct; alone it reads as no value.
            Patch::Clear | Patch::Unchanged => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    /// A present field is `Set`, or `Clear` when `null`; an absent one is `Unchanged` (through
    /// the field's `default`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(v) => Patch::Set(v),
            None => Patch::Clear,
        })
    }
}
