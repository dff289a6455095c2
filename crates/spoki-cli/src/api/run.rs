//! Turning a table entry into a subcommand, and its arguments into one call.

use super::table::{Kind, command_name, kind};
use crate::error::{CliError, Result};
use crate::output::Output;
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};
use spoki_client::Client;
use spoki_client::models::operation::{Body, Field, Operation, Response};
use std::collections::HashSet;

/// Flags the command line already uses, which a body or query field must not take.
const RESERVED: &[&str] = &[
    "api-key",
    "base-url",
    "profile",
    "config",
    "mock",
    "json",
    "reveal-secrets",
    "no-pacing",
    "data",
    "limit",
    "help",
    "version",
];

/// A spec name as a command-line name: `custom_fields` → `custom-fields`.
pub fn kebab(name: &str) -> String {
    name.replace('_', "-")
}

fn value_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "TEXT",
        Kind::Integer => "INT",
        Kind::Number => "NUMBER",
        Kind::Bool => "true|false",
        Kind::Json => "JSON",
        Kind::SecretEnv => "VAR",
    }
}

// Argument ids carry where the value goes, so a query and a body field may share a name.
fn path_id(p: &Field) -> String {
    format!("path.{}", p.name)
}
fn query_id(p: &Field) -> String {
    format!("query.{}", p.name)
}
fn body_id(p: &Field) -> String {
    format!("body.{}", p.name)
}

/// The flag for a field: its kebab name (`--NAME-env` for a credential), or `--body-NAME` /
/// `--query-NAME` where that is taken.
fn flag(p: &Field, prefix: &str, taken: &mut HashSet<String>) -> String {
    let mut plain = kebab(p.name);
    if kind(&p.ty) == Kind::SecretEnv {
        plain.push_str("-env");
    }
    let name = if RESERVED.contains(&plain.as_str()) || taken.contains(&plain) {
        format!("{prefix}-{plain}")
    } else {
        plain
    };
    taken.insert(name.clone());
    name
}

/// The subcommand of one operation.
pub fn command(op: &'static Operation) -> Command {
    let mut about = format!("{}  [{} {}]", op.summary, op.method.as_str(), op.path);
    if !op.idempotent {
        about.push_str("\n\nNot idempotent: never retried once it may have reached Spoki.");
    }
    let mut cmd = Command::new(command_name(op))
        .about(op.summary)
        .long_about(about)
        .args(op.path_params.iter().map(|p| {
            Arg::new(path_id(p))
                .value_name(p.name.to_ascii_uppercase())
                .required(true)
                .help(format!("Path parameter `{}`", p.name))
        }));
    let mut taken = HashSet::new();
    for q in op.query {
        let name = flag(q, "query", &mut taken);
        let arg = Arg::new(query_id(q))
            .long(name)
            .value_name(value_name(kind(&q.ty)))
            .help(format!("Query parameter `{}`", q.name));
        cmd = cmd.arg(allowed(arg, q));
    }
    if let Body::Object { fields, .. } = &op.body {
        for f in *fields {
            let name = flag(f, "body", &mut taken);
            let need = if op.requires_field(f.name) {
                " (required)"
            } else {
                ""
            };
            let what = if kind(&f.ty) == Kind::SecretEnv {
                format!("Environment variable holding body field `{}`{need}", f.name)
            } else {
                format!("Body field `{}`{need}", f.name)
            };
            let arg = Arg::new(body_id(f))
                .long(name)
                .value_name(value_name(kind(&f.ty)))
                .help(what);
            cmd = cmd.arg(allowed(arg, f));
        }
    }
    if matches!(op.body, Body::Object { .. } | Body::Array { .. }) {
        cmd = cmd.arg(Arg::new("data").long("data").value_name("JSON|@FILE").help(
            "The body as JSON text, or @FILE to read it from a file (@- for stdin); \
                 field flags override its fields",
        ));
    }
    if pages(op) {
        cmd = cmd.arg(
            Arg::new("limit")
                .long("limit")
                .value_name("N")
                .value_parser(clap::value_parser!(u64))
                .action(ArgAction::Set)
                .help("Stop after N items [default: every page]"),
        );
    }
    cmd
}

/// An enum field's values: offered by clap (in `--help`, checked, completed) for a text field;
/// for JSON text (a list of values, a number), listed in the help and checked by [`parse`].
fn allowed(arg: Arg, p: &Field) -> Arg {
    let values = p.ty.values();
    if values.is_empty() {
        return arg;
    }
    if kind(&p.ty) == Kind::Text {
        return arg.value_parser(clap::builder::PossibleValuesParser::new(values));
    }
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    arg.help(format!("{help}; JSON of: {}", values.join(", ")))
}

/// Whether every value of `value` (itself, or each item of a list) is one of `values`.
fn among(value: &Value, values: &[&str]) -> bool {
    match value {
        Value::Array(items) => items.iter().all(|v| among(v, values)),
        Value::String(s) => values.contains(&s.as_str()),
        Value::Number(n) => values.contains(&n.to_string().as_str()),
        _ => false,
    }
}

/// Reads a flag's text as its field's JSON: the kind says how, and an enum field's value
/// must be one it allows (`--data` is sent as given, for values newer than this table).
fn parse_param(p: &Field, text: &str) -> Result<Value> {
    let value = parse(kind(&p.ty), p.name, text)?;
    let values = p.ty.values();
    if !values.is_empty() && !among(&value, values) {
        return Err(CliError::Usage(format!(
            "{}: expected one of {} (a JSON list of them for a list)",
            p.name,
            values.join(", ")
        )));
    }
    Ok(value)
}

fn parse(kind: Kind, flag: &str, text: &str) -> Result<Value> {
    let bad = |what: &str| CliError::Usage(format!("{flag}: expected {what}"));
    Ok(match kind {
        Kind::Text => Value::String(text.to_owned()),
        Kind::Integer => Value::from(text.parse::<i64>().map_err(|_| bad("an integer"))?),
        Kind::Number => {
            let n: f64 = text.parse().map_err(|_| bad("a number"))?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        Kind::Bool => Value::Bool(text.parse().map_err(|_| bad("true or false"))?),
        Kind::Json => serde_json::from_str(text).map_err(|_| bad("JSON"))?,
        Kind::SecretEnv => Value::String(
            crate::config::env_value(text).map_err(|e| CliError::Usage(format!("{flag}: {e}")))?,
        ),
    })
}

/// The text of `--data`: inline JSON, `@FILE` or `@-` for stdin.
pub fn read_data(arg: &str) -> Result<Value> {
    let text = match arg.strip_prefix('@') {
        Some("-") => std::io::read_to_string(std::io::stdin()).map_err(CliError::io("stdin"))?,
        Some(path) => std::fs::read_to_string(path).map_err(CliError::io(path))?,
        None => arg.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "--data is not JSON: {}",
            spoki_client::models::without_quoted_values(&e.to_string())
        ))
    })
}

/// A call ready to send: everything checked.
#[derive(Debug)]
pub struct Prepared {
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// Checks the arguments and builds the call, before anything is sent.
pub fn prepare(op: &'static Operation, m: &ArgMatches) -> Result<Prepared> {
    let mut values = std::collections::HashMap::new();
    for p in op.path_params {
        let text = m.get_one::<String>(&path_id(p)).expect("required");
        let value = match parse(kind(&p.ty), p.name, text)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        if matches!(value.as_str(), "" | "." | "..") || value.contains('/') {
            return Err(CliError::Usage(format!(
                "{}: {value:?} is not a valid path parameter",
                p.name
            )));
        }
        values.insert(p.name, value);
    }
    let path = spoki_client::api::fill_path(op, |name| values.remove(name))?;
    let mut query = Vec::new();
    for q in op.query {
        if let Some(text) = m.get_one::<String>(&query_id(q)) {
            let value = match parse_param(q, text)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            query.push((q.name.to_owned(), value));
        }
    }
    let data = m
        .try_get_one::<String>("data")
        .ok()
        .flatten()
        .map(|d| read_data(d))
        .transpose()?;
    let does_not_fit = |e| CliError::Usage(format!("the body does not fit: {e}"));
    let body = match &op.body {
        Body::None => None,
        body if body.fixed().is_some() => body.fixed(),
        Body::Array { .. } => {
            let body = data.ok_or_else(|| {
                CliError::Usage("this call takes a JSON array: give it with --data".into())
            })?;
            op.body.decode(&body).map_err(does_not_fit)?;
            Some(body)
        }
        Body::Object { fields, .. } => {
            let mut body = match data {
                None => Map::new(),
                Some(Value::Object(map)) => map,
                Some(_) => return Err(CliError::Usage("--data must be a JSON object".into())),
            };
            body.extend(op.body.constants());
            for f in *fields {
                if let Some(text) = m.get_one::<String>(&body_id(f)) {
                    body.insert(f.name.to_owned(), parse_param(f, text)?);
                } else if op.requires_field(f.name) && !body.contains_key(f.name) {
                    let suffix = if kind(&f.ty) == Kind::SecretEnv {
                        "-env"
                    } else {
                        ""
                    };
                    return Err(CliError::Usage(format!(
                        "missing `{}`: give --{}{suffix} or put it in --data",
                        f.name,
                        kebab(f.name)
                    )));
                }
            }
            let body = Value::Object(body);
            op.body.decode(&body).map_err(does_not_fit)?;
            Some(body)
        }
    };
    Ok(Prepared { path, query, body })
}

/// Runs the operation and prints its answer.
pub async fn run(
    op: &'static Operation,
    m: &ArgMatches,
    client: &Client,
    out: Output,
) -> Result<()> {
    let call = prepare(op, m)?;
    if !pages(op) {
        let answer = send(op, client, &call, None).await?;
        out.answer(&answer, op.response.money());
        return Ok(());
    }
    // One page asked for: that page alone.
    if call.query.iter().any(|(k, _)| k == "page") {
        let answer = send(op, client, &call, None).await?;
        out.answer(&answer, op.response.money());
        return Ok(());
    }
    let limit = m.get_one::<u64>("limit").copied();
    let mut items = Vec::new();
    let mut page = 1;
    let mut seen = std::collections::HashSet::new();
    // The client's cap: a server that never stops must not keep the command running forever.
    for _ in 0..spoki_client::MAX_PAGES {
        if limit.is_some_and(|l| items.len() as u64 >= l) || !seen.insert(page) {
            break;
        }
        let answer = send(op, client, &call, Some(page)).await?;
        let results = answer
            .get("results")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let next = answer.get("next").and_then(Value::as_str).and_then(page_of);
        items.extend_from_slice(&results);
        match next {
            Some(n) if !results.is_empty() => page = n,
            _ => break,
        }
    }
    if let Some(limit) = limit {
        items.truncate(limit as usize);
    }
    out.answer(&Value::Array(items), op.response.money());
    Ok(())
}

/// The `page` parameter of a `next` link (1 when it has none, as DRF's first page).
fn page_of(next: &str) -> Option<u64> {
    let query = next.split_once('?').map_or("", |(_, q)| q);
    let page = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "page")
        .map(|(_, v)| v);
    match page {
        Some(v) => v.parse().ok(),
        None => Some(1),
    }
}

async fn send(
    op: &'static Operation,
    client: &Client,
    call: &Prepared,
    page: Option<u64>,
) -> Result<Value> {
    let page = page.map(|p| p.to_string());
    let mut query: Vec<(&str, &str)> = call
        .query
        .iter()
        .filter(|(k, _)| page.is_none() || k != "page")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(page) = &page {
        query.push(("page", page));
    }
    Ok(client
        .call_raw(op, &call.path, &query, call.body.as_ref())
        .await?)
}

/// Whether the answer is a page of a list, so the command follows `next`.
fn pages(op: &Operation) -> bool {
    matches!(op.response, Response::Page { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_read_from_the_link() {
        assert_eq!(
            page_of("https://api.spoki.com/api/1/contacts/?page=3"),
            Some(3)
        );
        assert_eq!(
            page_of("http://127.0.0.1:9/api/1/contacts/?search=x&page=12&page_size=5"),
            Some(12)
        );
        // DRF's link to the first page has no `page`.
        assert_eq!(
            page_of("http://127.0.0.1:9/api/1/contacts/?search=x"),
            Some(1)
        );
        assert_eq!(
            page_of("http://127.0.0.1:9/api/1/contacts/?page=last"),
            None
        );
    }
}
