//! Generates the typed calls of `spoki-client`: one sub-API per resource group, one method per
//! operation, and a request builder where an operation has query parameters or pages.

use crate::models::rust_type;
use crate::names::{camel, doc_lines, rust_field, snake_upper};
use crate::spec::{Auth, Body, Operation, Response, Spec, Type, path_placeholders};
use indexmap::IndexMap;
use std::fmt::Write;

/// The method name of an operation inside its group: `contacts_sync` → `sync`.
pub fn method_name(op: &Operation) -> String {
    let name = op
        .id
        .strip_prefix(&format!("{}_", op.group))
        .or_else(|| op.id.strip_prefix("auth_"))
        .unwrap_or(&op.id);
    rust_field(name)
}

fn group_type(group: &str) -> String {
    format!("{}Api", camel(group))
}

fn builder_type(op: &Operation) -> String {
    format!("{}Request", camel(&op.id))
}

fn needs_builder(op: &Operation) -> bool {
    !op.query.is_empty() || matches!(Response::parse(&op.response), Ok(Response::Page(_)))
}

fn response_type(op: &Operation) -> String {
    match Response::parse(&op.response).expect("validated") {
        Response::Empty => "()".into(),
        Response::Json => "serde_json::Value".into(),
        Response::Model(m) => format!("models::{m}"),
        Response::Page(m) => format!("models::Page<models::{m}>"),
    }
}

fn receive(op: &Operation) -> &'static str {
    match Response::parse(&op.response).expect("validated") {
        Response::Empty => "empty",
        Response::Json => "value",
        _ => "json",
    }
}

fn op_doc(op: &Operation) -> String {
    let mut doc = format!("{}.\n\n`{} {}`", op.summary, op.method, op.path);
    if let Some(d) = &op.deprecated {
        doc.push_str(&format!("\n\nDeprecated: {d}"));
    }
    if let Some(u) = &op.uncertain {
        doc.push_str(&format!("\n\nUncertain: {u}"));
    }
    if !op.idempotent {
        doc.push_str("\n\nNot idempotent: never retried once it may have reached Spoki.");
    }
    doc
}

/// Whether the body is fully fixed by the operation (every field a constant), so the call
/// builds it itself and takes no body argument.
fn fixed_body<'s>(spec: &'s Spec, op: &Operation) -> Option<&'s str> {
    let body = op.body.as_deref().map(Body::parse)?;
    let Body::Object(name) = body else {
        return None;
    };
    let (name, model) = spec.models.get_key_value(&name)?;
    model
        .fields
        .values()
        .all(|f| f.detail().constant.is_some())
        .then_some(name.as_str())
}

/// Positional parameters: path parameters, then the body.
fn params(spec: &Spec, op: &Operation) -> Vec<String> {
    let mut params: Vec<String> = op
        .path_params
        .iter()
        .map(|(name, ty)| match ty.as_str() {
            "i64" => format!("{}: i64", rust_field(name)),
            _ => format!("{}: &str", rust_field(name)),
        })
        .collect();
    match op.body.as_deref().map(Body::parse) {
        _ if fixed_body(spec, op).is_some() => {}
        Some(Body::Object(m)) => params.push(format!("body: &models::{m}")),
        Some(Body::Array(m)) => params.push(format!("body: &[models::{m}]")),
        None => {}
    }
    params
}

/// The statement that builds `call` for an operation.
fn build_call(spec: &Spec, op: &Operation) -> String {
    let mut path = format!("{:?}.to_owned()", op.path);
    let placeholders = path_placeholders(&op.path);
    if !placeholders.is_empty() {
        let mut template = op.path.clone();
        let mut args = Vec::new();
        for name in &placeholders {
            template = template.replace(&format!("{{{name}}}"), "{}");
            let ident = rust_field(name);
            match op.path_params[*name].as_str() {
                "i64" => args.push(ident),
                _ => args.push(format!("crate::api::segment({ident})?")),
            }
        }
        path = format!("format!({template:?}, {})", args.join(", "));
    }
    let body = match (fixed_body(spec, op), op.body.as_deref().map(Body::parse)) {
        (Some(model), _) => format!(".body(&models::{model}::new())?"),
        (None, Some(Body::Array(_))) => ".list_body(body)?".to_owned(),
        (None, Some(Body::Object(model))) => {
            // An automation start's budget is its secret's, read from the typed body.
            let secret = spec.models[&model].fields.iter().find(|(_, f)| {
                f.detail().ty.as_deref().map(Type::parse) == Some(Ok(Type::Named("secret".into())))
            });
            match (op.auth, secret) {
                (Auth::AutomationSecret, Some((json, _))) => {
                    format!(".body(body)?.secret(&body.{})", rust_field(json))
                }
                _ => ".body(body)?".to_owned(),
            }
        }
        (None, None) => String::new(),
    };
    format!(
        "let call = Call::new(&operation::{}, {path}){body};\n",
        snake_upper(&op.id)
    )
}

fn query_setter(ty: &str) -> (String, String) {
    let parsed = Type::parse(ty).expect("validated");
    match ty {
        "i64" | "bool" => (ty.to_owned(), "value.to_string()".into()),
        "string" => ("impl Into<String>".into(), "value.into()".into()),
        "date" | "datetime" => (
            rust_type(&parsed).replace("crate::", "models::"),
            "value.to_string()".into(),
        ),
        _ => (format!("models::{ty}"), "value.as_str().to_owned()".into()),
    }
}

/// The typed calls, one file per resource group (`generated/api/contacts.rs`, …) and the
/// `mod.rs` that gathers them: `(file name, code)` pairs.
pub fn api(spec: &Spec) -> Vec<(String, String)> {
    let mut groups: IndexMap<&str, Vec<&Operation>> = IndexMap::new();
    for op in &spec.operations {
        groups.entry(op.group.as_str()).or_default().push(op);
    }
    let mut files = Vec::new();
    let mut index = String::from("//! The typed calls, one module per resource group.\n\n");
    for (group, ops) in &groups {
        writeln!(index, "mod {group};\npub use {group}::*;").unwrap();
        files.push((format!("{group}.rs"), group_api(spec, group, ops)));
    }
    files.push(("mod.rs".to_owned(), index));
    files
}

/// The calls of one group: its accessor on `Client`, its sub-API and its request builders.
fn group_api(spec: &Spec, group: &str, ops: &[&Operation]) -> String {
    let mut out = format!("//! The `{group}` calls.\n\n");
    out.push_str(
        "#[allow(unused_imports)]\nuse crate::client::{Call, Client};\nuse crate::error::Error;\n#[allow(unused_imports)]\nuse spoki_models as models;\nuse spoki_models::operation;\n\n",
    );
    write_group_accessor(&mut out, group, ops.len());
    write_group_struct(&mut out, group);
    writeln!(out, "impl<'a> {}<'a> {{", group_type(group)).unwrap();
    for op in ops {
        write_call_method(&mut out, spec, op);
    }
    out.push_str("}\n\n");
    for op in ops.iter().filter(|op| needs_builder(op)) {
        write_builder(&mut out, op);
    }
    out
}

/// The `Client` method that opens the group's sub-API (`client.contacts()`).
fn write_group_accessor(out: &mut String, group: &str, operations: usize) {
    out.push_str("impl Client {\n");
    let doc = format!("Calls of the `{group}` group ({operations} operations).");
    out.push_str(&doc_lines(&doc, "    "));
    writeln!(
        out,
        "    pub fn {}(&self) -> {}<'_> {{\n        {} {{ client: self }}\n    }}\n",
        rust_field(group),
        group_type(group),
        group_type(group)
    )
    .unwrap();
    out.push_str("}\n\n");
}

/// The sub-API struct, a borrowed client.
fn write_group_struct(out: &mut String, group: &str) {
    out.push_str(&doc_lines(
        &format!(
            "The `{group}` calls; from [`Client::{}`].",
            rust_field(group)
        ),
        "",
    ));
    writeln!(
        out,
        "#[derive(Debug, Clone, Copy)]\npub struct {}<'a> {{\n    client: &'a Client,\n}}\n",
        group_type(group)
    )
    .unwrap();
}

/// The sub-API method of one operation: it sends the call, or returns a request builder
/// when the call has optional parameters or pages.
fn write_call_method(out: &mut String, spec: &Spec, op: &Operation) {
    out.push_str(&doc_lines(&op_doc(op), "    "));
    if let Some(note) = &op.deprecated {
        out.push_str(&format!("    #[deprecated(note = {note:?})]\n"));
    }
    let params = params(spec, op).join(", ");
    let call = build_call(spec, op);
    if needs_builder(op) {
        write_builder_method(out, op, &params, &call);
    } else {
        writeln!(
            out,
            "    pub async fn {}(&self, {params}) -> Result<{}, Error> {{",
            method_name(op),
            response_type(op)
        )
        .unwrap();
        out.push_str(&call);
        writeln!(
            out,
            "        self.client.{}(call).await\n    }}\n",
            receive(op)
        )
        .unwrap();
    }
}

/// A method that returns the operation's request builder. It is fallible only when the call
/// has a body, which is encoded up front.
fn write_builder_method(out: &mut String, op: &Operation, params: &str, call: &str) {
    out.push_str(
        "    ///\n    /// Set the optional parameters on the returned request, then `send` it",
    );
    if matches!(Response::parse(&op.response), Ok(Response::Page(_))) {
        out.push_str(" (or `stream` every item)");
    }
    out.push_str(".\n");
    let result = if op.body.is_some() {
        format!("Result<{}<'a>, Error>", builder_type(op))
    } else {
        format!("{}<'a>", builder_type(op))
    };
    writeln!(
        out,
        "    pub fn {}(&self, {params}) -> {result} {{",
        method_name(op)
    )
    .unwrap();
    out.push_str(call);
    let wrap = if op.body.is_some() {
        ("Ok(", ")")
    } else {
        ("", "")
    };
    writeln!(
        out,
        "        {}{} {{ client: self.client, call }}{}\n    }}\n",
        wrap.0,
        builder_type(op),
        wrap.1
    )
    .unwrap();
}

/// The request builder of an operation: a setter per query parameter, `send`, and for a
/// list `stream` and `send_lenient`.
fn write_builder(out: &mut String, op: &Operation) {
    let name = builder_type(op);
    let doc = format!(
        "A pending `{}` call; from [`{}::{}`].",
        op.id,
        group_type(&op.group),
        method_name(op)
    );
    out.push_str(&doc_lines(&doc, ""));
    writeln!(out, "#[derive(Clone)]\n#[must_use = \"a request does nothing until sent\"]\npub struct {name}<'a> {{\n    client: &'a Client,\n    call: Call,\n}}\n").unwrap();
    writeln!(
        out,
        "impl std::fmt::Debug for {name}<'_> {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.debug_struct({name:?}).field(\"query\", &self.call.query).finish_non_exhaustive()\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(out, "impl {name}<'_> {{").unwrap();
    for (q, ty) in &op.query {
        let (param, convert) = query_setter(ty);
        writeln!(
            out,
            "    /// Sets the `{q}` query parameter.\n    pub fn {}(mut self, value: {param}) -> Self {{\n        self.call.set_query({q:?}, {convert});\n        self\n    }}\n",
            rust_field(&crate::names::snake(q))
        )
        .unwrap();
    }
    writeln!(
        out,
        "    /// Sends the request.\n    pub async fn send(self) -> Result<{}, Error> {{\n        self.client.{}(self.call).await\n    }}\n",
        response_type(op),
        receive(op)
    )
    .unwrap();
    if let Ok(Response::Page(m)) = Response::parse(&op.response) {
        write_page_methods(out, &m);
    }
    out.push_str("}\n\n");
}

/// `stream` and `send_lenient`, the builder methods of a call that returns pages of `model`.
fn write_page_methods(out: &mut String, model: &str) {
    writeln!(
        out,
        "    /// Every item of every page, following `next` to the end.\n    pub fn stream(self) -> impl futures::Stream<Item = Result<models::{model}, Error>> + Send + 'static {{\n        crate::pagination::items(self.client.clone(), self.call)\n    }}\n"
    )
    .unwrap();
    writeln!(
        out,
        "    /// Sends the request, keeping the items that decode and a typed error (with its JSON\n    /// path) for each that does not; `send` fails on the first bad item instead.\n    pub async fn send_lenient(self) -> Result<(models::Page<models::{model}>, Vec<models::ItemError>), Error> {{\n        self.client.page_lenient(self.call).await\n    }}\n"
    )
    .unwrap();
}

/// A JSON value of `ty` with every required field filled, for the generated call test and
/// the local Spoki's generic answers.
pub fn sample(spec: &Spec, ty: &Type) -> String {
    match ty {
        Type::Optional(_) => "null".into(),
        Type::Map(_) => "{}".into(),
        Type::List(inner) => format!("[{}]", sample(spec, inner)),
        Type::Named(name) => match name.as_str() {
            "i64" | "money" | "id_ref" | "number_or_text" => "1".into(),
            "f64" => "1.5".into(),
            "bool" => "true".into(),
            "string" => "\"x\"".into(),
            "phone" => "\"+393331234567\"".into(),
            "datetime" => "\"2024-07-15T10:00:00Z\"".into(),
            "date" => "\"2024-07-15\"".into(),
            "secret" => "\"canary-secret-0001\"".into(),
            "json" => "{}".into(),
            name if spec.enums.contains_key(name) => {
                let first = spec.enums[name]
                    .values
                    .values()
                    .next()
                    .expect("enums have values");
                match first {
                    crate::spec::EnumValue::Integer(n) => n.to_string(),
                    other => format!("{:?}", other.spellings()[0]),
                }
            }
            model => {
                let kind = spec.models[model].kind;
                let fields: Vec<String> = spec.models[model]
                    .fields
                    .iter()
                    .filter_map(|(json, field)| {
                        let detail = field.detail();
                        if let Some(constant) = &detail.constant {
                            return Some(format!(
                                "{json:?}: {}",
                                crate::spec::const_json(constant)
                            ));
                        }
                        let ty = Type::parse(detail.ty.as_deref()?).expect("validated");
                        ty.is_required_in(kind)
                            .then(|| format!("{json:?}: {}", sample(spec, &ty)))
                    })
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
        },
    }
}

/// An operation called through its typed method with sample arguments.
pub struct TypedCall {
    /// The sample body's JSON, when the operation has a body.
    pub wire: Option<String>,
    /// The body's Rust type, when the call takes the body as an argument (decoded from `wire`
    /// into a variable `body`).
    pub body_type: Option<String>,
    /// The expression calling it on `client`.
    pub call: String,
}

/// How to call `op` with these path arguments and a sample body.
pub fn typed_call(spec: &Spec, op: &Operation, mut args: Vec<String>) -> TypedCall {
    let mut wire = None;
    let mut body_type = None;
    if let Some(body) = &op.body {
        let (ty, value) = match Body::parse(body) {
            Body::Object(m) => (format!("models::{m}"), sample(spec, &Type::Named(m))),
            Body::Array(m) => (
                format!("Vec<models::{m}>"),
                format!("[{}]", sample(spec, &Type::Named(m))),
            ),
        };
        wire = Some(value);
        if fixed_body(spec, op).is_none() {
            body_type = Some(ty);
            args.push("&body".into());
        }
    }
    let mut call = format!(
        "client.{}().{}({})",
        rust_field(&op.group),
        method_name(op),
        args.join(", ")
    );
    if needs_builder(op) {
        if op.body.is_some() {
            call.push_str(".unwrap()");
        }
        call.push_str(".send()");
    }
    TypedCall {
        wire,
        body_type,
        call,
    }
}

/// A test that calls every operation through its typed method and checks what was sent.
pub fn every_operation_test(spec: &Spec) -> String {
    let mut out = String::from(
        "//! Every operation of the spec, called through its typed method on a recording transport:\n\
         //! the method, path, operation id, credentials and body that reach the transport.\n\n\
         #![allow(deprecated)]\n\nmod support;\n\nuse spoki_client::models;\nuse support::Recorder;\n\n",
    );
    for op in &spec.operations {
        let response = match Response::parse(&op.response).expect("validated") {
            Response::Empty => String::new(),
            Response::Json => "{}".into(),
            Response::Model(m) => sample(spec, &Type::Named(m)),
            Response::Page(m) => format!(
                "{{\"count\": 1, \"next\": null, \"results\": [{}]}}",
                sample(spec, &Type::Named(m))
            ),
        };
        let mut args: Vec<String> = Vec::new();
        let mut path = op.path.clone();
        for (name, ty) in &op.path_params {
            let (arg, text) = if ty == "i64" {
                ("7".to_owned(), "7")
            } else {
                ("\"abc-1\"".to_owned(), "abc-1")
            };
            path = path.replace(&format!("{{{name}}}"), text);
            args.push(arg);
        }
        let TypedCall {
            wire,
            body_type,
            call,
        } = typed_call(spec, op, args);
        let mut body_setup = String::new();
        if let Some(value) = &wire {
            body_setup = format!("    let wire = r#\"{value}\"#;\n");
        }
        if let Some(ty) = &body_type {
            body_setup.push_str(&format!(
                "    let body: {ty} = serde_json::from_str(wire).unwrap();\n"
            ));
        }
        let key_check = match op.auth {
            crate::spec::Auth::ApiKey => "Some(\"canary-api-key-0001\")",
            _ => "None",
        };
        writeln!(
            out,
            "#[tokio::test]\nasync fn {id}() {{\n    let recorder = Recorder::ok(r#\"{response}\"#);\n    let client = recorder.client();\n{body_setup}    {call}.await.unwrap();\n    let seen = recorder.last();\n    assert_eq!((seen.method.as_str(), seen.path.as_str()), ({method:?}, {path:?}));\n    assert_eq!(seen.operation, Some({id:?}));\n    assert_eq!(seen.header(\"x-spoki-api-key\"), {key_check});",
            id = op.id,
            method = op.method,
        )
        .unwrap();
        if op.body.is_some() {
            out.push_str("    assert_eq!(seen.json(), serde_json::from_str::<serde_json::Value>(wire).unwrap(), \"the body on the wire is the spec's\");\n");
        }
        out.push_str("}\n\n");
    }
    out
}
