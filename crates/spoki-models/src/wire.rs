//! Serde helpers shared by the generated code and the files the SDK writes.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};
use std::fmt;

/// Reads a list or map that the API may send as `null`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads a map that may come as `null`, or as `[]`: PHP encodes an empty array that way,
/// and Spoki takes it as an empty map.
pub fn lenient_map<'de, D, V>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct LenientMap<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for LenientMap<V> {
        type Value = std::collections::BTreeMap<String, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map, null, or an empty list")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            match seq.next_element::<de::IgnoredAny>()? {
                None => Ok(Default::default()),
                Some(_) => Err(de::Error::invalid_type(
                    de::Unexpected::Seq,
                    &"a map (only an empty list reads as one)",
                )),
            }
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_any(LenientMap(std::marker::PhantomData))
}

/// Reads an optional object that a client may send as an empty list (PHP encodes an empty
/// array that way) as absent.
pub fn empty_list_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Array(items) if items.is_empty() => Ok(None),
        value => T::deserialize(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// Reads any JSON scalar as text, so that an enum can keep a value of an unexpected type.
pub fn deserialize_scalar<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct Scalar;
    impl Visitor<'_> for Scalar {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string, number or boolean")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    deserializer.deserialize_any(Scalar)
}

/// Writes a string-valued enum.
pub fn serialize_text<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

/// Writes an integer-valued enum. A value goes out as a number only when that number writes
/// back as the same text, so that an unknown value round-trips exactly: `"007"` and `"+1"`
/// stay text.
pub fn serialize_integer<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
    match value.parse::<i64>() {
        Ok(n) if n.to_string() == value => serializer.serialize_i64(n),
        _ => serializer.serialize_str(value),
    }
}

/// [`Money`](crate::Money) in full, as its `Display` writes it (`"0.0014 EUR"`), for files of
/// our own: Spoki's wire form (whole thousandths of EUR) would round or refuse sub-cent prices.
/// Use with `#[serde(with = "spoki_models::wire::exact_money")]`.
pub mod exact_money {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::Money;

    /// Writes `money` as `"<amount> <currency>"`.
    pub fn serialize<S: Serializer>(money: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(money)
    }

    /// Reads `"<amount> <currency>"` back, refusing anything else.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}
