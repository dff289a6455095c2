//! A workflow of the seed documents, run end to end over the reqwest transport against
//! servers on 127.0.0.1. The workflow code is the example's own.

#[path = "../examples/iframe_embed.rs"]
#[allow(dead_code)]
mod iframe_embed;

#[tokio::test]
async fn iframe_embedding_builds_the_chat_url_from_the_token() {
    let spoki = iframe_embed::fake_spoki::start().await;
    let url = iframe_embed::iframe_url(&spoki.url).await.unwrap();
    assert_eq!(
        url,
        format!(
            "https://spoki.app/chats/{}?auth_token=demo-token%2F%2B%3D&auth_uid=svc-77&language=it&can_view_chat_list=false&can_send_paypal_in_chat=false",
            iframe_embed::fake_spoki::CHAT_UUID
        )
    );
    let token_call = spoki
        .received()
        .into_iter()
        .find(|r| r.target.contains("get_authentication_token"))
        .unwrap();
    assert_eq!(
        token_call.header("x-spoki-api-key"),
        Some(iframe_embed::fake_spoki::CLIENT_API_KEY)
    );
    assert_eq!(
        token_call.json()["private_key"],
        iframe_embed::fake_spoki::SERVICE_PRIVATE_KEY
    );
}

#[tokio::test]
async fn iframe_token_errors_are_typed() {
    let spoki = iframe_embed::fake_spoki::start().await;
    let client = spoki_client::Client::builder()
        .base_url(&spoki.url)
        .api_key("wrong")
        .build()
        .unwrap();
    let err = client
        .embedding()
        .get_authentication_token(&spoki_client::models::AuthTokenRequest::new("a@b.it", "k"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(
        err.api_error().unwrap().code.as_deref(),
        Some("spoki::1001")
    );
}
