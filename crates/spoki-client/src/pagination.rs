//! Following list pages to the end.

use crate::client::{Call, Client};
use crate::error::Error;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use serde::de::DeserializeOwned;
use spoki_models::Page;
use std::collections::HashSet;

/// Most pages one stream will fetch: a guard against a server that never stops.
pub const MAX_PAGES: usize = 100_000;

/// Every page, starting with the call's own query and then following `next`.
///
/// The next request is made to the client's own origin with the original query, updated by
/// the parameters of the `next` URL (usually `page`): the API key never goes to a host the
/// server names, and filters are never dropped. The stream ends on a page without `next`, an
/// empty page, once `count` items have come, or at a `next` already followed (which would
/// loop).
pub(crate) fn pages<T>(
    client: Client,
    call: Call,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    struct State {
        client: Client,
        call: Call,
        next: Option<Vec<(String, String)>>,
        seen: HashSet<Vec<(String, String)>>,
        fetched: u64,
    }
    let mut first = call.query.clone();
    first.sort();
    let state = State {
        client,
        next: Some(call.query.clone()),
        call,
        seen: HashSet::from([first]),
        fetched: 0,
    };
    stream::try_unfold(state, |mut state| async move {
        let Some(query) = state.next.take() else {
            return Ok(None);
        };
        let mut call = state.call.clone();
        call.query = query;
        let page: Page<T> = state.client.json(call).await?;
        state.fetched += page.results.len() as u64;
        let all_fetched = page.count.is_some_and(|count| state.fetched >= count);
        if !page.results.is_empty() && !all_fetched && state.seen.len() < MAX_PAGES {
            state.next = page
                .next
                .as_deref()
                .and_then(|next| follow(&state.call.query, next))
                .filter(|q| state.seen.insert(q.clone()));
        }
        Ok(Some((page, state)))
    })
}

/// Every item of every page.
pub(crate) fn items<T>(
    client: Client,
    call: Call,
) -> impl Stream<Item = Result<T, Error>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    pages::<T>(client, call)
        .map_ok(|page| stream::iter(page.results.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

/// The original query with the `next` URL's parameters applied over it.
fn follow(original: &[(String, String)], next: &str) -> Option<Vec<(String, String)>> {
    let base = url::Url::parse("http://next.invalid/").expect("static URL");
    let next = base.join(next).ok()?;
    let pairs: Vec<(String, String)> = next.query_pairs().into_owned().collect();
    // Replace whole keys, so a repeated parameter (`tag=1&tag=2`) keeps every value.
    let mut query: Vec<(String, String)> = original
        .iter()
        .filter(|(key, _)| !pairs.iter().any(|(k, _)| k == key))
        .cloned()
        .collect();
    query.extend(pairs);
    query.sort();
    Some(query)
}

#[cfg(test)]
mod tests {
    use super::follow;

    #[test]
    fn next_keeps_filters_and_takes_the_page() {
        let original = vec![
            ("search".to_owned(), "mario rossi".to_owned()),
            ("page_size".to_owned(), "50".to_owned()),
        ];
        let q = follow(
            &original,
            "https://api.spoki.com/api/1/contacts/?page=2&page_size=50",
        )
        .unwrap();
        assert_eq!(
            q,
            [
                ("page".into(), "2".into()),
                ("page_size".into(), "50".into()),
                ("search".into(), "mario rossi".into())
            ]
        );
        assert!(
            follow(&original, "/api/1/contacts/?page=3")
                .unwrap()
                .contains(&("page".into(), "3".into()))
        );
    }
}
