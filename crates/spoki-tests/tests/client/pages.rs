//! List streams: following `next` page after page, keeping the query, and stopping at a loop,
//! an empty page, the page cap, an error or `count` items.

mod support;

use futures::TryStreamExt;
use spoki_client::Error;
use spoki_client::models::*;
use support::Recorder;

#[tokio::test]
async fn streams_follow_next_and_keep_the_query() {
    let recorder = Recorder::new(|seen| {
        let page = seen
            .query_pairs()
            .into_iter()
            .find(|(k, _)| k == "page")
            .map(|(_, v)| v);
        let body = match page.as_deref() {
            None => {
                r#"{"count": 5, "next": "https://elsewhere.example/api/1/contacts/?page=2&search=mario", "results": [{"id": 1}, {"id": 2}]}"#
            }
            Some("2") => {
                r#"{"count": 5, "next": "/api/1/contacts/?page=3&search=mario", "results": [{"id": 3}, {"id": 4}]}"#
            }
            _ => r#"{"count": 5, "next": null, "results": [{"id": 5}]}"#,
        };
        (200, vec![], body.into())
    });
    let ids: Vec<i64> = recorder
        .client()
        .contacts()
        .list()
        .search("mario")
        .tag(3)
        .stream()
        .map_ok(|c| c.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    let seen = recorder.seen();
    assert_eq!(seen.len(), 3);
    for request in &seen[1..] {
        let pairs = request.query_pairs();
        assert!(
            pairs.contains(&("tag".into(), "3".into())),
            "filters kept: {pairs:?}"
        );
        assert!(pairs.contains(&("search".into(), "mario".into())));
        assert_eq!(
            request.header("x-spoki-api-key"),
            Some("canary-api-key-0001")
        );
    }
}

#[tokio::test]
async fn a_stream_never_loops() {
    // A server whose `next` always points at page 2.
    let recorder = Recorder::ok(r#"{"next": "/api/1/tags/?page=2", "results": [{"id": 1}]}"#);
    let tags: Vec<Tag> = recorder
        .client()
        .tags()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags.len(), 2, "page 1, then page 2 once");
    assert_eq!(recorder.seen().len(), 2);
}

#[tokio::test]
async fn a_stream_never_loops_through_a_cycle_of_pages() {
    // Page 1 points at 2, 2 at 3, 3 back at 2: A -> B -> C -> B.
    let recorder = Recorder::new(|seen| {
        let page = seen
            .query_pairs()
            .into_iter()
            .find(|(k, _)| k == "page")
            .map(|(_, v)| v);
        let next = match page.as_deref() {
            None => "2",
            Some("2") => "3",
            _ => "2",
        };
        (
            200,
            vec![],
            format!(r#"{{"next": "/api/1/tags/?page={next}", "results": [{{"id": 1}}]}}"#),
        )
    });
    let tags: Vec<Tag> = recorder
        .client()
        .tags()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags.len(), 3, "pages 1, 2 and 3, each once");
    assert_eq!(recorder.seen().len(), 3);
}

#[tokio::test]
async fn a_stream_stops_at_an_empty_page_even_with_a_next() {
    let recorder = Recorder::new(|seen| {
        let body = if seen.query.is_none() {
            r#"{"next": "/api/1/tags/?page=2", "results": [{"id": 1}]}"#
        } else {
            r#"{"next": "/api/1/tags/?page=3", "results": []}"#
        };
        (200, vec![], body.to_owned())
    });
    let tags: Vec<Tag> = recorder
        .client()
        .tags()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(recorder.seen().len(), 2, "page 3 is never asked for");
}

#[tokio::test]
async fn a_stream_stops_at_the_page_cap() {
    // Every page points at a new one, forever.
    let recorder = Recorder::new(|seen| {
        let page: usize = seen
            .query_pairs()
            .into_iter()
            .find(|(k, _)| k == "page")
            .map_or(1, |(_, v)| v.parse().unwrap());
        let next = page + 1;
        (
            200,
            vec![],
            format!(r#"{{"next": "/api/1/tags/?page={next}", "results": [{{"id": {page}}}]}}"#),
        )
    });
    let count = recorder
        .client()
        .tags()
        .list()
        .stream()
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await
        .unwrap();
    assert_eq!(count, spoki_client::MAX_PAGES);
    assert_eq!(recorder.seen().len(), spoki_client::MAX_PAGES);
}

#[tokio::test]
async fn a_stream_stops_at_an_error() {
    let recorder = Recorder::new(|seen| match seen.query.as_deref() {
        None => (
            200,
            vec![],
            r#"{"next": "/x/?page=2", "results": [{"id": 1}]}"#.into(),
        ),
        _ => (500, vec![], String::new()),
    });
    let items: Vec<Result<Tag, Error>> =
        futures::StreamExt::collect(recorder.client().tags().list().stream()).await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok() && items[1].is_err());
}

#[tokio::test]
async fn a_stream_stops_once_count_items_came() {
    // `next` is always there, but the server said there are only 2 items.
    let recorder = Recorder::ok(
        r#"{"count": 2, "next": "/api/1/tags/?page=9", "results": [{"id": 1}, {"id": 2}]}"#,
    );
    let tags: Vec<Tag> = recorder
        .client()
        .tags()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags.len(), 2);
    assert_eq!(recorder.seen().len(), 1);
}
