//! A workflow of the seed documents, run end to end over the reqwest transport against the
//! local Spoki. The workflow code is the example's own.

#[path = "../examples/iframe_embed.rs"]
#[allow(dead_code)]
mod iframe_embed;

use spoki_mock::MockSpoki;

#[tokio::test]
async fn iframe_embedding_builds_the_chat_url_from_the_token() {
    let spoki = MockSpoki::start().await;
    let f = spoki.fixtures();
    let url = iframe_embed::iframe_url(spoki.url(), &f).await.unwrap();
    let prefix = "https://spoki.app/chats/5f1c2a9e-7d41-4b0a-a0c2-2f0f4b1e8d33?auth_token=";
    assert!(url.starts_with(prefix), "{url}");
    assert!(
        url.ends_with(&format!(
            "&auth_uid=svc-{}&language=it&can_view_chat_list=false&can_send_paypal_in_chat=false",
            f.service_user_role_id
        )),
        "{url}"
    );
    let token_call = spoki
        .received()
        .into_iter()
        .find(|r| r.path.contains("get_authentication_token"))
        .unwrap();
    assert_eq!(token_call.status, Some(200), "the private key was accepted");
    assert_eq!(token_call.body["private_key"], "[REDACTED]");
}

#[tokio::test]
async fn iframe_token_errors_are_typed() {
    let spoki = MockSpoki::start().await;
    let client = spoki_client::Client::builder()
        .base_url(spoki.url())
        .api_key("wrong")
        .build()
        .unwrap();
    let err = client
        .embedding()
        .get_authentication_token(&spoki_client::models::AuthTokenRequest::new("a@b.it", "k"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.kind(), Some(spoki_client::models::ErrorKind::Forbidden));
}
