use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A credential: an automation secret, a private key, an iframe token or a webhook secret.
///
/// Wraps [`secrecy::SecretString`]: the value is zeroed on drop and never shows in `Debug`
/// or `Display`. It is serialized as is, because the API needs it in request bodies; keep
/// serialized bodies out of logs.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(SecretString::from(value.into()))
    }

    /// The secret value. Call it only where the value must leave the process.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the secret is empty or only whitespace and control characters (such as NUL),
    /// which the API never accepts. HMAC pads a key with zero bytes, so a key of NUL bytes
    /// would sign exactly as an empty one.
    pub fn is_blank(&self) -> bool {
        is_blank(self.expose())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl From<SecretString> for Secret {
    fn from(value: SecretString) -> Secret {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Compares in time independent of where the values differ.
impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        let (a, b) = (self.expose().as_bytes(), other.expose().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// The one rule for a blank secret or key: nothing but whitespace and control characters.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || c.is_control())
}

/// Replaces the values of credential-like fields ([`is_credential_field`]), at any depth, with
/// `[REDACTED]`: the one rule for keeping JSON that may carry credentials, in the client's
/// errors, the CLI's output and the local Spoki's request log.
pub fn redact_credentials(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_credential_field(key) {
                    *v = serde_json::Value::String("[REDACTED]".into());
                } else {
                    redact_credentials(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_credentials),
        _ => {}
    }
}

/// Whether a JSON field (or header) name looks like it holds a credential, whose value must
/// not be kept in errors or logs.
pub fn is_credential_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["secret", "token", "key", "password"]
        .iter()
        .any(|s| name.contains(s))
}

/// Whether an HTTP header carries a credential: any whose name says key, token, secret or
/// password, and `Authorization`, `Proxy-Authorization`, `Cookie` and `Set-Cookie`.
pub fn is_credential_header(name: &str) -> bool {
    is_credential_field(name)
        || [
            "authorization",
            "proxy-authorization",
            "cookie",
            "set-cookie",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// A query string with the value of every parameter whose name says key, token, secret or
/// password replaced by `[REDACTED]`: `api_key=abc&page=2` → `api_key=[REDACTED]&page=2`.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_credential_field(&percent_decoded(name)) => {
                format!("{name}=[REDACTED]")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `name` with `%XX` escapes and `+` decoded, so `api%5Fkey` is seen for what it is.
fn percent_decoded(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_and_query_parameters_are_recognized() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "set-cookie",
            "X-Spoki-Api-Key",
            "x-auth-token",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        assert!(!is_credential_header("content-type"));
        assert_eq!(
            redact_query("page=2&api_key=abc&Token=x&search=key"),
            "page=2&api_key=[REDACTED]&Token=[REDACTED]&search=key"
        );
        assert_eq!(
            redact_query("api%5Fkey=abc&x=%"),
            "api%5Fkey=[REDACTED]&x=%"
        );
        assert_eq!(redact_query("secret"), "secret");
    }

    #[test]
    fn never_prints() {
        let s = Secret::new("whsec_canary");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(s.to_string(), "[REDACTED]");
        assert_eq!(s.expose(), "whsec_canary");
    }

    #[test]
    fn compares_and_detects_blank() {
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("b"));
        assert_ne!(Secret::new("a"), Secret::new("ab"));
        assert!(Secret::new("  ").is_blank());
    }
}
