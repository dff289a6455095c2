//! A small stand-in for the Spoki API on 127.0.0.1, enough for the seed workflows: an agency
//! with two client accounts, their automations, contacts and the iframe token exchange.
//! Used by the examples (as their embedded default) and by the workflow tests.

use super::server::{Answer, Received, Server};
use serde_json::json;

pub const AGENCY_ID: i64 = 1;
pub const AGENCY_API_KEY: &str = "demo-agency-api-key";
pub const CLIENT_ACCOUNT_ID: i64 = 101;
pub const CLIENT_API_KEY: &str = "demo-client-api-key";
pub const AUTOMATION_UUID: &str = "2b8e61f4-58a1-4c1e-9b1d-0d6f1f7c3a10";
pub const AUTOMATION_SECRET: &str = "demo-automation-secret";
pub const SERVICE_EMAIL: &str = "crm-service@pizzeria.example";
pub const SERVICE_PRIVATE_KEY: &str = "demo-private-key";
pub const CHAT_UUID: &str = "5f1c2a9e-7d41-4b0a-a0c2-2f0f4b1e8d33";

/// Starts the fake API and returns it; its `url` is the base URL to give the client.
pub async fn start() -> Server {
    Server::start(route).await
}

fn answer(status: u16, body: serde_json::Value) -> Answer {
    (
        status,
        vec![],
        if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    )
}

fn unauthorized() -> Answer {
    answer(
        401,
        json!({"title": "Unauthorized", "detail": "Invalid credentials", "code": "spoki::1001"}),
    )
}

fn client_account(id: i64, name: &str, credit: i64, conversations: i64) -> serde_json::Value {
    json!({
        "id": id, "name": name, "current_credit": credit,
        "estimated_available_conversations": conversations,
        "status": "Active", "phone_status": "Connected", "account_type": 2,
        "default_country_code": "IT", "timezone": "Europe/Rome"
    })
}

fn route(request: &Received) -> Answer {
    let key = request.header("x-spoki-api-key");
    let path = request.target.split('?').next().unwrap_or_default();
    match (request.method.as_str(), path) {
        ("GET", "/api/1/agencies/1/") if key == Some(AGENCY_API_KEY) => answer(
            200,
            json!({
                "id": AGENCY_ID, "account": 100, "name": "Mooving Agency",
                "clients": [
                    client_account(CLIENT_ACCOUNT_ID, "Pizzeria Da Mario", 420, 3),
                    client_account(102, "Hotel Bellavista", 0, 0)
                ]
            }),
        ),
        ("GET", "/api/1/accounts/101/")
            if key == Some(AGENCY_API_KEY) || key == Some(CLIENT_API_KEY) =>
        {
            answer(
                200,
                client_account(CLIENT_ACCOUNT_ID, "Pizzeria Da Mario", 420, 3),
            )
        }
        ("POST", p) if p == format!("/wh/ap/{AUTOMATION_UUID}/bulk/") => {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
            if key.is_some() || body["secret"] != AUTOMATION_SECRET {
                return unauthorized();
            }
            answer(200, serde_json::Value::Null)
        }
        ("POST", "/api/1/auth/get_authentication_token/") if key == Some(CLIENT_API_KEY) => {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
            if body["email"] != SERVICE_EMAIL || body["private_key"] != SERVICE_PRIVATE_KEY {
                return unauthorized();
            }
            answer(200, json!({"token": "demo-token/+=", "uid": "svc-77"}))
        }
        ("GET", "/api/1/contacts/") if key == Some(CLIENT_API_KEY) => answer(
            200,
            json!({"count": 1, "next": null, "previous": null, "results": [{
                "id": 9001, "phone": "+393331234567", "first_name": "Mario",
                "chat_link": format!("https://spoki.app/chats/{CHAT_UUID}/")
            }]}),
        ),
        (_, _)
            if path.starts_with("/api/")
                && key != Some(AGENCY_API_KEY)
                && key != Some(CLIENT_API_KEY) =>
        {
            unauthorized()
        }
        _ => answer(404, json!({"detail": "Not found."})),
    }
}
