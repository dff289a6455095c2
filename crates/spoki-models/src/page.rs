use serde::Serialize;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// One page of a list response.
///
/// Spoki lists use the envelope `{count, next, previous, results}`; one source says some
/// lists (accounts) come back as a bare array. Both decode: a bare array is a single, last
/// page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// Total number of items over all pages, when the API says.
    pub count: Option<u64>,
    /// Absolute URL of the next page; `None` on the last page.
    pub next: Option<String>,
    /// Absolute URL of the previous page.
    pub previous: Option<String>,
    /// The items of this page.
    pub results: Vec<T>,
}

impl<T> Page<T> {
    /// A page with these items and no neighbours.
    pub fn new(results: Vec<T>) -> Self {
        Page {
            count: None,
            next: None,
            previous: None,
            results,
        }
    }

    /// Sets the total count.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Sets the URL of the next page.
    pub fn next(mut self, next: impl Into<String>) -> Self {
        self.next = Some(next.into());
        self
    }

    /// Whether another page follows.
    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page::new(Vec::new())
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.results.into_iter()
    }
}

// A hand-written visitor rather than an untagged enum, so a decode error keeps its JSON path.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Page<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PageVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for PageVisitor<T> {
            type Value = Page<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a page {count, next, previous, results} or an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Page<T>, A::Error> {
                let mut results = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element()? {
                    results.push(item);
                }
                Ok(Page::new(results))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page<T>, A::Error> {
                let mut page = Page::new(Vec::new());
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "count" => page.count = map.next_value()?,
                        "next" => {
                            page.next = map
                                .next_value::<Option<String>>()?
                                .filter(|n| !n.is_empty())
                        }
                        "previous" => page.previous = map.next_value()?,
                        "results" => {
                            page.results = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default()
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(page)
            }
        }
        deserializer.deserialize_any(PageVisitor(PhantomData))
    }
}

/// An item of a page that did not decode, from [`Page::from_json_lenient`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemError {
    /// Its position in the page.
    pub index: usize,
    /// The JSON path of the failing value, such as `results[3].status`.
    pub path: String,
    /// What was wrong, without the values serde would quote (one may be a credential).
    pub message: String,
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "item {} at `{}`: {}",
            self.index, self.path, self.message
        )
    }
}

impl std::error::Error for ItemError {}

/// One item, decoded or not.
struct Lenient<T>(Result<T, (String, String)>);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Lenient(
            serde_path_to_error::deserialize::<_, T>(&value).map_err(|e| {
                (
                    e.path().to_string(),
                    without_quoted_values(&e.inner().to_string()),
                )
            }),
        ))
    }
}

impl<T: serde::de::DeserializeOwned> Page<T> {
    /// Decodes a page keeping every item that decodes, and a typed error (with its JSON path)
    /// for each one that does not, so one unexpected item does not make the others unreadable.
    /// The envelope itself must still be well formed. `serde_json::from_slice` stays strict.
    pub fn from_json_lenient(json: &[u8]) -> Result<(Page<T>, Vec<ItemError>), serde_json::Error> {
        let enveloped = json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let page: Page<Lenient<T>> = serde_json::from_slice(json)?;
        let mut errors = Vec::new();
        let mut results = Vec::with_capacity(page.results.len());
        for (index, item) in page.results.into_iter().enumerate() {
            match item.0 {
                Ok(item) => results.push(item),
                Err((inner, message)) => {
                    let prefix = if enveloped { "results" } else { "" };
                    let path = if inner == "." {
                        format!("{prefix}[{index}]")
                    } else {
                        format!("{prefix}[{index}].{inner}")
                    };
                    errors.push(ItemError {
                        index,
                        path,
                        message,
                    });
                }
            }
        }
        let good = Page {
            count: page.count,
            next: page.next,
            previous: page.previous,
            results,
        };
        Ok((good, errors))
    }
}

/// Serde's message without the values it quotes (between `"` or backticks): a value of the
/// wrong type may be a key.
pub fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '"' || c == '`' {
                    quote = Some(c);
                }
            }
        }
    }
    out
}
