//! `spoki mcp` driven by rmcp's own client over stdio, against a local Spoki in this process:
//! the tools, an answer, the guardrails, idempotency keys, and no secret in any answer.

use crate::support::{Sandbox, mock, secrets};
use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use spoki_client::models::operation::{self, Method};

type Session = RunningService<RoleClient, ()>;

async fn connect(s: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Session {
    let mut all = vec!["mcp"];
    all.extend_from_slice(args);
    let command = tokio::process::Command::from(s.command(&all, env));
    let transport = TokioChildProcess::new(command).expect("spoki mcp starts");
    ().serve(transport)
        .await
        .expect("the MCP handshake completes")
}

/// Calls `tool` and keeps the whole answer's text in `seen`, for the secrets check.
async fn call(session: &Session, seen: &mut String, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments are an object")
    };
    let result = session
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: a protocol error instead of a tool result: {e}"));
    seen.push_str(&serde_json::to_string(&result).unwrap());
    result
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

fn refused(result: &CallToolResult, says: &str) {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    assert!(
        text(result).contains(says),
        "{:?} lacks {says:?}",
        text(result)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reads_sends_once_and_is_held_by_the_guardrails() {
    let spoki = mock().await;
    let f = spoki.fixtures();
    let s = Sandbox::new();
    let allowed = "+393331234567";
    let account = f.client_account_id.to_string();
    let env = [
        ("SPOKI_BASE_URL", spoki.url()),
        ("SPOKI_API_KEY", f.client_api_key.as_str()),
        ("AUTOMATION_SECRET", f.automation_secret.as_str()),
    ];
    let args = [
        "--allow-recipients",
        allowed,
        "--automation-secret-env",
        "AUTOMATION_SECRET",
        "--automation",
        &f.automation_uuid,
        "--account",
        &account,
    ];
    let session = connect(&s, &args, &env).await;
    let mut seen = String::new();

    let info = session.peer_info().expect("the server introduced itself");
    assert_eq!(info.server_info.as_ref().unwrap().name, "spoki");

    // Every operation is a tool, with an object schema and the hints its schema implies.
    let tools = session.list_all_tools().await.unwrap();
    seen.push_str(&serde_json::to_string(&tools).unwrap());
    assert_eq!(tools.len(), operation::ALL.len() + 2);
    for op in &operation::ALL {
        let tool = tools
            .iter()
            .find(|t| t.name == op.id.as_str())
            .unwrap_or_else(|| panic!("no tool {}", op.id));
        assert_eq!(tool.input_schema["type"], "object", "{}", op.id);
        let hints = tool.annotations.as_ref().expect("annotated");
        let reads = op.method == Method::Get && op.idempotent;
        assert_eq!(hints.read_only_hint, Some(reads), "{}", op.id);
        assert_eq!(hints.idempotent_hint, Some(op.idempotent), "{}", op.id);
        if op.method == Method::Delete {
            assert_eq!(hints.destructive_hint, Some(true), "{}", op.id);
        }
        let props = tool.input_schema["properties"].as_object().unwrap();
        assert!(
            !props.contains_key("secret"),
            "{}: secrets never come from the model",
            op.id
        );
        assert_eq!(
            props.contains_key("idempotency_key"),
            op.recipients.is_some(),
            "{}",
            op.id
        );
    }
    for name in ["campaign_estimate", "campaign_start"] {
        assert!(tools.iter().any(|t| t.name == name), "{name}");
    }

    // A read.
    let got = call(
        &session,
        &mut seen,
        "accounts_get",
        json!({"id": f.client_account_id}),
    )
    .await;
    assert_eq!(got.is_error, Some(false), "{got:?}");
    assert_eq!(
        got.structured_content.as_ref().unwrap()["id"],
        f.client_account_id
    );
    for uri in ["spoki://account", "spoki://templates"] {
        let read = session
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .unwrap();
        seen.push_str(&serde_json::to_string(&read).unwrap());
    }
    assert!(
        seen.contains("current_credit"),
        "the account resource has the credit"
    );

    // Refused before anything is sent: a stranger, a bad phone, a campaign the credit does
    // not cover, a secret from the model.
    let stranger = json!({"phone": "+393339999999", "text": "hi"});
    let r = call(&session, &mut seen, "messages_send_text", stranger).await;
    refused(&r, "not among the recipients");
    let r = call(
        &session,
        &mut seen,
        "messages_send_text",
        json!({"phone": "3331234567", "text": "hi"}),
    )
    .await;
    refused(&r, "phone");
    let many: Vec<String> = (0..6).map(|i| format!("+39333123456{i}")).collect();
    let estimate = call(
        &session,
        &mut seen,
        "campaign_estimate",
        json!({"recipients": many, "template": f.marketing_template_id}),
    )
    .await;
    let answer = estimate.structured_content.clone().unwrap();
    assert_eq!(answer["covered"], false, "{answer}");
    let token = answer["confirmation"].as_str().unwrap();
    let r = call(
        &session,
        &mut seen,
        "campaign_start",
        json!({"confirmation": token}),
    )
    .await;
    refused(&r, "does not cover");
    let r = call(
        &session,
        &mut seen,
        "campaign_start",
        json!({"confirmation": "made-up"}),
    )
    .await;
    refused(&r, "no estimate");
    let r = call(
        &session,
        &mut seen,
        "automations_start",
        json!({"uuid": f.automation_uuid, "phone": allowed, "secret": "guess"}),
    )
    .await;
    refused(&r, "secret");
    assert!(
        spoki.messages().is_empty(),
        "nothing went out: {:?}",
        spoki.messages()
    );

    // One key, one send; the second call is answered from the first.
    spoki.inbound(allowed, "Ciao").unwrap();
    let send = json!({"phone": allowed, "text": "Il tuo ordine", "idempotency_key": "order-17"});
    let first = call(&session, &mut seen, "messages_send_text", send.clone()).await;
    assert_eq!(first.is_error, Some(false), "{first:?}");
    let again = call(&session, &mut seen, "messages_send_text", send).await;
    assert_eq!(again.structured_content, first.structured_content);
    assert_eq!(spoki.messages().len(), 1, "the same key reached Spoki once");
    let other = json!({"phone": allowed, "text": "another", "idempotency_key": "order-17"});
    let r = call(&session, &mut seen, "messages_send_text", other).await;
    refused(&r, "different call");

    // A covered campaign starts, with the server's secret; a webhook's secret is masked.
    let two = json!({"recipients": [allowed], "category": "marketing"});
    let estimate = call(&session, &mut seen, "campaign_estimate", two).await;
    let token = estimate.structured_content.unwrap()["confirmation"].clone();
    let started = call(
        &session,
        &mut seen,
        "campaign_start",
        json!({"confirmation": token}),
    )
    .await;
    assert_eq!(started.is_error, Some(false), "{started:?}");
    assert_eq!(started.structured_content.unwrap()["started"], 1);
    let hook = json!({"event": "message.inbound", "url": "https://example.invalid/hook"});
    let created = call(&session, &mut seen, "webhooks_create", hook).await;
    assert_eq!(created.is_error, Some(false), "{created:?}");
    let listed = call(&session, &mut seen, "webhooks_list", json!({"limit": 5})).await;
    let hooks = listed.structured_content.unwrap()["items"].clone();
    let ours = hooks
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["url"] == "https://example.invalid/hook");
    assert_eq!(ours.unwrap()["secret"], "[REDACTED]", "{hooks}");

    for secret in secrets(&f) {
        assert!(
            !seen.contains(&secret),
            "a fixture secret reached the agent"
        );
    }
    session.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_lists_and_runs_no_tool_that_writes() {
    let spoki = mock().await;
    let f = spoki.fixtures();
    let s = Sandbox::new();
    let env = [
        ("SPOKI_BASE_URL", spoki.url()),
        ("SPOKI_API_KEY", f.client_api_key.as_str()),
    ];
    let session = connect(&s, &["--read-only"], &env).await;
    let tools = session.list_all_tools().await.unwrap();
    let reads = operation::ALL
        .iter()
        .filter(|op| op.method == Method::Get && op.idempotent)
        .count();
    assert_eq!(tools.len(), reads + 1, "the reads and campaign_estimate");
    for tool in &tools {
        let hints = tool.annotations.as_ref().unwrap();
        assert_eq!(hints.read_only_hint, Some(true), "{} writes", tool.name);
    }
    let mut seen = String::new();
    spoki.inbound("+393331234567", "Ciao").unwrap();
    let send = json!({"phone": "+393331234567", "text": "hi"});
    let r = call(&session, &mut seen, "messages_send_text", send).await;
    refused(&r, "read-only");
    assert!(spoki.messages().is_empty());
    session.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_it_answers_the_handshake_on_loopback() {
    use std::io::BufRead;
    let spoki = mock().await;
    let f = spoki.fixtures();
    let s = Sandbox::new();
    let env = [
        ("SPOKI_BASE_URL", spoki.url()),
        ("SPOKI_API_KEY", f.client_api_key.as_str()),
    ];
    let mut child = s
        .command(&["mcp", "--http", "0"], &env)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    tokio::task::block_in_place(|| stderr.read_line(&mut line)).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}});
    let answer = reqwest::Client::new()
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(initialize.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body = answer.text().await.unwrap();
    assert!(body.contains(r#""name":"spoki""#), "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
}
