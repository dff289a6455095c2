//! The iframe URL builder, chat links and the iframe's events.

use spoki_client::embed::{ChatUuid, EMBED_BASE_URL, EmbedError, EmbedPage, IframeUrl};
use spoki_models::{AuthToken, EmbedLanguage, IframeEvent};

const CHAT: &str = "3f2b9c1e-7a4d-4e8f-9b2a-0c1d2e3f4a5b";

fn token() -> AuthToken {
    AuthToken::new("tok123", "uid-9")
}

fn url(builder: IframeUrl) -> String {
    builder.build().expose().to_owned()
}

#[test]
fn exact_urls_for_the_three_pages() {
    assert_eq!(
        url(IframeUrl::new(&token(), EmbedPage::Chats)),
        "https://spoki.app/chats?auth_token=tok123&auth_uid=uid-9"
    );
    assert_eq!(
        url(IframeUrl::new(&token(), EmbedPage::chat(CHAT).unwrap())),
        format!("https://spoki.app/chats/{CHAT}?auth_token=tok123&auth_uid=uid-9")
    );
    assert_eq!(
        url(IframeUrl::new(&token(), EmbedPage::Templates)),
        "https://spoki.app/templates?auth_token=tok123&auth_uid=uid-9"
    );
}

#[test]
fn token_and_uid_are_percent_encoded() {
    let token = AuthToken::new("a+b/c=d&e f%~._-", "ü id#1");
    assert_eq!(
        url(IframeUrl::new(&token, EmbedPage::Chats)),
        "https://spoki.app/chats?auth_token=a%2Bb%2Fc%3Dd%26e%20f%25~._-&auth_uid=%C3%BC%20id%231"
    );
    // The encoding round-trips through a standard query parser.
    let built = url(IframeUrl::new(&token, EmbedPage::Chats));
    let parsed = url::Url::parse(&built).unwrap();
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        [
            ("auth_token".to_owned(), "a+b/c=d&e f%~._-".to_owned()),
            ("auth_uid".to_owned(), "ü id#1".to_owned()),
        ]
    );
}

#[test]
fn language_is_written_when_set() {
    for (language, code) in [
        (EmbedLanguage::It, "it"),
        (EmbedLanguage::En, "en"),
        (EmbedLanguage::Es, "es"),
    ] {
        assert_eq!(
            url(IframeUrl::new(&token(), EmbedPage::Templates).language(language)),
            format!("https://spoki.app/templates?auth_token=tok123&auth_uid=uid-9&language={code}")
        );
    }
}

#[test]
fn only_disabled_flags_are_written() {
    let all_off = IframeUrl::new(&token(), EmbedPage::Chats)
        .language(EmbedLanguage::It)
        .can_view_chat_list(false)
        .can_reply_in_chat(false)
        .can_send_paypal_in_chat(false);
    assert_eq!(
        url(all_off.clone()),
        "https://spoki.app/chats?auth_token=tok123&auth_uid=uid-9&language=it\
         &can_view_chat_list=false&can_reply_in_chat=false&can_send_paypal_in_chat=false"
    );
    // Setting a flag back to true removes it again: true is the iframe's default.
    assert_eq!(
        url(all_off
            .can_view_chat_list(true)
            .can_send_paypal_in_chat(true)),
        "https://spoki.app/chats?auth_token=tok123&auth_uid=uid-9&language=it&can_reply_in_chat=false"
    );
    assert_eq!(
        url(IframeUrl::new(&token(), EmbedPage::Chats).can_view_chat_list(true)),
        "https://spoki.app/chats?auth_token=tok123&auth_uid=uid-9"
    );
}

#[test]
fn base_url_can_be_replaced() {
    let page = EmbedPage::chat(CHAT).unwrap();
    let built = IframeUrl::new(&token(), page.clone())
        .base_url("http://localhost:8080/spoki/")
        .unwrap();
    assert_eq!(built.origin(), "http://localhost:8080");
    assert_eq!(
        url(built),
        format!("http://localhost:8080/spoki/chats/{CHAT}?auth_token=tok123&auth_uid=uid-9")
    );
    assert_eq!(
        IframeUrl::new(&token(), page.clone()).origin(),
        EMBED_BASE_URL
    );
    for bad in [
        "spoki.app",
        "ftp://spoki.app",
        "https://spoki.app/?x=1",
        "https://spoki.app/#top",
        "data:text/html,hi",
    ] {
        assert_eq!(
            IframeUrl::new(&token(), page.clone())
                .base_url(bad)
                .unwrap_err(),
            EmbedError::InvalidBaseUrl,
            "{bad}"
        );
    }
}

#[test]
fn chat_link_gives_the_chat_page() {
    let expected = EmbedPage::chat(CHAT).unwrap();
    for link in [
        format!("https://app.spoki.it/chats/{CHAT}"),
        format!("https://app.spoki.it/chats/{CHAT}/"),
        format!("https://app.spoki.it/chats/{CHAT}//?tab=info#last"),
        format!("  https://spoki.app/chats/{CHAT}  "),
        format!("/chats/{CHAT}"),
    ] {
        assert_eq!(
            EmbedPage::from_chat_link(&link).unwrap(),
            expected,
            "{link}"
        );
    }
    assert_eq!(expected.slug(), format!("chats/{CHAT}"));
}

#[test]
fn bad_chat_links_are_errors() {
    assert_eq!(
        EmbedPage::from_chat_link("https://app.spoki.it/").unwrap_err(),
        EmbedError::InvalidChatLink
    );
    assert_eq!(
        EmbedPage::from_chat_link("").unwrap_err(),
        EmbedError::InvalidChatLink
    );
    assert_eq!(
        EmbedPage::from_chat_link("mailto:someone@example.com").unwrap_err(),
        EmbedError::InvalidChatLink
    );
    // A last segment that is not a uuid is reported as such.
    assert_eq!(
        EmbedPage::from_chat_link("https://app.spoki.it/chats/abc%20def").unwrap_err(),
        EmbedError::InvalidChatUuid { character: '%' }
    );
}

#[test]
fn invalid_chat_uuids_are_rejected() {
    assert_eq!(EmbedPage::chat("").unwrap_err(), EmbedError::EmptyChatUuid);
    for (uuid, character) in [
        ("../templates", '.'),
        ("abc/def", '/'),
        ("abc?x=1", '?'),
        ("abc def", ' '),
        ("àbc", 'à'),
        ("abc_def", '_'),
    ] {
        assert_eq!(
            EmbedPage::chat(uuid).unwrap_err(),
            EmbedError::InvalidChatUuid { character },
            "{uuid}"
        );
    }
    let uuid: ChatUuid = "ABC-123-def".parse().unwrap();
    assert_eq!(uuid.as_str(), "ABC-123-def");
    assert_eq!(EmbedPage::Chat(uuid).slug(), "chats/ABC-123-def");
}

#[test]
fn debug_redacts_the_token() {
    let token = AuthToken::new("tok_canary_77", "uid-9");
    let builder = IframeUrl::new(&token, EmbedPage::Chats).language(EmbedLanguage::En);
    let debug = format!("{builder:?}");
    assert!(!debug.contains("tok_canary_77"), "{debug}");
    assert!(
        debug.contains("REDACTED") && debug.contains("uid-9"),
        "{debug}"
    );
    let built = builder.build();
    assert!(!format!("{built:?}").contains("tok_canary_77"));
    assert!(!built.to_string().contains("tok_canary_77"));
    assert!(built.expose().contains("auth_token=tok_canary_77"));
}

#[test]
fn iframe_events_decode() {
    let unread: IframeEvent = serde_json::from_str(
        r#"{"eventType":"hasUnreadChatsChanged","data":{"hasUnreadChats":true}}"#,
    )
    .unwrap();
    match unread {
        IframeEvent::HasUnreadChatsChanged(e) => assert!(e.has_unread_chats),
        other => panic!("{other:?}"),
    }

    let chats: IframeEvent = serde_json::from_str(
        r#"{"eventType":"chatsChanged","data":{
            "chats":[{"uuid":"3f2b9c1e-7a4d-4e8f-9b2a-0c1d2e3f4a5b","unread":2}],
            "hasFilters":false,"page":1}}"#,
    )
    .unwrap();
    match chats {
        IframeEvent::ChatsChanged(e) => {
            assert_eq!(e.chats.len(), 1);
            assert_eq!(e.chats[0]["unread"], 2);
            assert_eq!(e.has_filters, Some(false));
            assert_eq!(e.page, Some(1));
        }
        other => panic!("{other:?}"),
    }

    let messages: IframeEvent = serde_json::from_str(
        r#"{"eventType":"chatMessagesChanged","data":{
            "chat":{"uuid":"3f2b9c1e-7a4d-4e8f-9b2a-0c1d2e3f4a5b"},
            "page":2,
            "messages":[{"text":"ciao"},{"text":"hello"}]}}"#,
    )
    .unwrap();
    match &messages {
        IframeEvent::ChatMessagesChanged(e) => {
            assert_eq!(e.page, Some(2));
            assert_eq!(e.messages.len(), 2);
            assert_eq!(e.chat.as_ref().unwrap()["uuid"], CHAT);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(messages.event_type(), "chatMessagesChanged");

    let unknown: IframeEvent =
        serde_json::from_str(r#"{"eventType":"somethingNew","data":{"x":1}}"#).unwrap();
    assert_eq!(unknown.event_type(), "somethingNew");
    assert!(matches!(unknown, IframeEvent::Unknown { .. }));

    // A known event with the wrong data shape is an error, not a silent Unknown.
    assert!(
        serde_json::from_str::<IframeEvent>(
            r#"{"eventType":"hasUnreadChatsChanged","data":{"hasUnreadChats":"yes"}}"#
        )
        .is_err()
    );
}
