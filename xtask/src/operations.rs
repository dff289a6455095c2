//! Generates the operation table of `spoki-models`: the rate classes, the `Group` and
//! `OperationId` enums, and one `Operation` schema per operation, which the client, the
//! middleware, the command line, the local Spoki and the MCP tools all read.

use crate::client::{method_name, sample};
use crate::names::{camel, doc_lines, snake_upper};
use crate::spec::{
    Auth, Body, Confidence, Operation, Repr, Response, Spec, Type, const_json, path_placeholders,
};
use std::fmt::Write;

/// The whole `operations.rs` of `spoki-models`.
pub fn operations(spec: &Spec) -> String {
    let mut out = String::from(
        "use crate::operation::{AuthKind, Body, Confidence, Field, FieldType, Method, Operation, Response, UnknownOperation, decode};\n\
         #[allow(unused_imports)]\nuse crate::constraint::{Check, Rule};\n\
         use std::time::Duration;\n\n",
    );
    rate_classes(&mut out, spec);
    groups(&mut out, spec);
    ids(&mut out, spec);
    let mut names = std::collections::HashSet::new();
    for op in &spec.operations {
        let name = method_name(op);
        assert!(
            names.insert((op.group.as_str(), name.trim_start_matches("r#").to_owned())),
            "operation `{}`: `{}` is taken by another operation of its group",
            op.id,
            name
        );
        operation(&mut out, spec, op);
    }
    out.push_str("/// Every operation of the API, in spec order.\n");
    writeln!(
        out,
        "pub static ALL: [Operation; {}] = [",
        spec.operations.len()
    )
    .unwrap();
    for op in &spec.operations {
        writeln!(out, "    {},", snake_upper(&op.id)).unwrap();
    }
    out.push_str("];\n");
    out
}

/// A closed enum of names with `ALL`, `as_str`, `Display` and `FromStr`.
fn name_enum(out: &mut String, doc: &str, name: &str, names: &[String], parse_error: &str) {
    out.push_str(&doc_lines(doc, ""));
    writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\npub enum {name} {{"
    )
    .unwrap();
    for n in names {
        writeln!(out, "    /// `{n}`\n    {},", camel(n)).unwrap();
    }
    writeln!(
        out,
        "}}\n\nimpl {name} {{\n    /// Every value, in spec order."
    )
    .unwrap();
    writeln!(out, "    pub const ALL: [{name}; {}] = [", names.len()).unwrap();
    for n in names {
        writeln!(out, "        {name}::{},", camel(n)).unwrap();
    }
    out.push_str("    ];\n\n    /// The name used in the spec and on the wire.\n");
    out.push_str("    pub const fn as_str(self) -> &'static str {\n        match self {\n");
    for n in names {
        writeln!(out, "            {name}::{} => {n:?},", camel(n)).unwrap();
    }
    out.push_str("        }\n    }\n}\n\n");
    writeln!(
        out,
        "impl std::fmt::Display for {name} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(
        out,
        "impl std::str::FromStr for {name} {{\n    type Err = {parse_error};\n    fn from_str(name: &str) -> Result<Self, Self::Err> {{\n        match name {{"
    )
    .unwrap();
    for n in names {
        writeln!(out, "            {n:?} => Ok({name}::{}),", camel(n)).unwrap();
    }
    writeln!(
        out,
        "            _ => Err({parse_error}(name.to_owned())),\n        }}\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(
        out,
        "impl serde::Serialize for {name} {{\n    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n        serializer.serialize_str(self.as_str())\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(
        out,
        "impl<'de> serde::Deserialize<'de> for {name} {{\n    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;\n        name.parse().map_err(serde::de::Error::custom)\n    }}\n}}\n"
    )
    .unwrap();
}

fn groups(out: &mut String, spec: &Spec) {
    let mut names: Vec<String> = Vec::new();
    for op in &spec.operations {
        if !names.contains(&op.group) {
            names.push(op.group.clone());
        }
    }
    name_enum(
        out,
        "The resource groups of the API, each one `client.<group>()` and one `spoki <group>`.",
        "Group",
        &names,
        "UnknownOperation",
    );
}

fn ids(out: &mut String, spec: &Spec) {
    let names: Vec<String> = spec.operations.iter().map(|op| op.id.clone()).collect();
    name_enum(
        out,
        "The id of every operation. A `match` on it is checked: an operation added to or renamed in the spec breaks every `match` that does not handle it.",
        "OperationId",
        &names,
        "UnknownOperation",
    );
    out.push_str(
        "impl OperationId {\n    /// The operation's schema.\n    pub const fn operation(self) -> &'static Operation {\n        match self {\n",
    );
    for op in &spec.operations {
        writeln!(
            out,
            "            OperationId::{} => &{},",
            camel(&op.id),
            snake_upper(&op.id)
        )
        .unwrap();
    }
    out.push_str("        }\n    }\n}\n\n");
}

fn operation(out: &mut String, spec: &Spec, op: &Operation) {
    let mut doc = format!("`{} {}`: {}.", op.method, op.path, op.summary);
    if let Some(d) = &op.deprecated {
        doc.push_str(&format!("\n\nDeprecated: {d}"));
    }
    if let Some(u) = &op.uncertain {
        doc.push_str(&format!("\n\nUncertain: {u}"));
    }
    out.push_str(&doc_lines(&doc, ""));
    let auth = match op.auth {
        Auth::ApiKey => "ApiKey",
        Auth::AutomationSecret => "AutomationSecret",
        Auth::None => "None",
    };
    let body_rules = match op.body.as_deref().map(Body::parse) {
        Some(Body::Object(model)) => format!("crate::{model}::RULES"),
        _ => format!(
            "&[{}]",
            crate::rules::literal(&crate::rules::body_rules(spec, op))
        ),
    };
    let path_params: Vec<String> = path_placeholders(&op.path)
        .into_iter()
        .map(|p| {
            let ty = Type::parse(&op.path_params[p]).expect("validated");
            field(spec, p, &ty, true, "")
        })
        .collect();
    let query: Vec<String> = op
        .query
        .iter()
        .map(|(q, ty)| field(spec, q, &Type::parse(ty).expect("validated"), false, ""))
        .collect();
    let mut summary = op.summary.clone();
    if op.deprecated.is_some() && !summary.to_ascii_lowercase().contains("deprecated") {
        summary.push_str(" (deprecated)");
    }
    writeln!(
        out,
        "pub const {const_name}: Operation = Operation {{\n    id: OperationId::{id},\n    group: Group::{group},\n    name: {name:?},\n    summary: {summary:?},\n    method: Method::{method},\n    path: {path:?},\n    auth: AuthKind::{auth},\n    idempotent: {idempotent},\n    rate_class: RateClass::{class},\n    deprecated: {deprecated},\n    sensitive_response: {sensitive},\n    body_rules: {body_rules},\n    path_params: &[{path_params}],\n    query: &[{query}],\n    body: {body},\n    requires: &{requires:?},\n    recipients: {recipients:?},\n    response: {response},\n}};\n",
        const_name = snake_upper(&op.id),
        id = camel(&op.id),
        group = camel(&op.group),
        name = method_name(op).trim_start_matches("r#"),
        method = camel(&op.method.to_lowercase()),
        path = op.path,
        idempotent = op.idempotent,
        class = camel(&op.rate_class),
        deprecated = op.deprecated.is_some(),
        sensitive = spec.response_carries_secret(op),
        path_params = path_params.join(", "),
        query = query.join(", "),
        body = body(spec, op.body.as_deref()),
        requires = op.requires,
        recipients = op.recipients.as_deref(),
        response = response(spec, &op.response),
    )
    .unwrap();
}

fn field(spec: &Spec, name: &str, ty: &Type, required: bool, doc: &str) -> String {
    format!(
        "Field {{ name: {name:?}, ty: {}, required: {required}, doc: {doc:?} }}",
        field_type(spec, ty)
    )
}

/// The `FieldType` expression of a spec type (optionality is the field's `required`).
fn field_type(spec: &Spec, ty: &Type) -> String {
    match ty {
        Type::Optional(inner) => field_type(spec, inner),
        Type::List(inner) => format!("FieldType::List(&{})", field_type(spec, inner)),
        Type::Map(inner) => format!("FieldType::Map(&{})", field_type(spec, inner)),
        Type::Named(name) => match name.as_str() {
            "i64" => "FieldType::Integer".into(),
            "f64" => "FieldType::Number".into(),
            "bool" => "FieldType::Bool".into(),
            "string" => "FieldType::Text".into(),
            "phone" => "FieldType::Phone".into(),
            "money" => "FieldType::Money".into(),
            "datetime" => "FieldType::DateTime".into(),
            "date" => "FieldType::Date".into(),
            "secret" => "FieldType::Secret".into(),
            "json" | "number_or_text" | "id_ref" => "FieldType::Any".into(),
            name => match spec.enums.get(name) {
                Some(e) => {
                    let values: Vec<String> =
                        e.values.values().flat_map(|v| v.spellings()).collect();
                    format!(
                        "FieldType::Enum {{ integer: {}, values: &{values:?} }}",
                        e.repr == Repr::Integer
                    )
                }
                None => format!("FieldType::Object({name:?})"),
            },
        },
    }
}

fn body(spec: &Spec, text: Option<&str>) -> String {
    let Some(text) = text else {
        return "Body::None".into();
    };
    let name = match Body::parse(text) {
        Body::Array(m) => {
            return format!("Body::Array {{ model: {m:?}, decode: decode::<Vec<crate::{m}>> }}");
        }
        Body::Object(m) => m,
    };
    let model = &spec.models[&name];
    let mut fields = Vec::new();
    let mut constants = Vec::new();
    for (json, f) in &model.fields {
        let detail = f.detail();
        if let Some(constant) = &detail.constant {
            constants.push(format!("({json:?}, {:?})", const_json(constant)));
        } else {
            let ty = Type::parse(detail.ty.as_deref().expect("validated")).expect("validated");
            let doc = detail.doc.as_deref().unwrap_or("").split_whitespace();
            let doc = doc.collect::<Vec<_>>().join(" ");
            fields.push(field(spec, json, &ty, ty.is_required_in(model.kind), &doc));
        }
    }
    format!(
        "Body::Object {{ model: {name:?}, fields: &[{}], constants: &[{}], decode: decode::<crate::{name}> }}",
        fields.join(", "),
        constants.join(", ")
    )
}

fn response(spec: &Spec, text: &str) -> String {
    match Response::parse(text).expect("validated") {
        Response::Empty => "Response::Empty".into(),
        Response::Json => "Response::Json".into(),
        Response::Model(m) => format!(
            "Response::Model {{ model: {m:?}, sample: r#\"{}\"#, decode: decode::<crate::{m}>, money: &{:?} }}",
            sample(spec, &Type::Named(m.clone())),
            money_fields(spec, &m)
        ),
        Response::Page(m) => format!(
            "Response::Page {{ model: {m:?}, decode: decode::<crate::{m}>, money: &{:?} }}",
            money_fields(spec, &m)
        ),
    }
}

/// The fields of a response model that hold money.
fn money_fields(spec: &Spec, model: &str) -> Vec<String> {
    spec.models.get(model).map_or_else(Vec::new, |m| {
        m.fields
            .iter()
            .filter(|(_, f)| {
                let ty = f.detail().ty.as_deref().and_then(|t| Type::parse(t).ok());
                matches!(ty.as_ref().map(Type::required_inner), Some(Type::Named(n)) if n == "money")
            })
            .map(|(json, _)| json.clone())
            .collect()
    })
}

fn rate_classes(out: &mut String, spec: &Spec) {
    out.push_str(
        "/// The closed set of client-side rate-limit classes. Each class is one budget per\n\
         /// credential; `Default` covers every operation without a published limit.\n",
    );
    out.push_str(
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[non_exhaustive]\npub enum RateClass {\n",
    );
    for (name, class) in &spec.rate_classes {
        writeln!(
            out,
            "    /// {} requests per {} s ({}).",
            class.requests,
            class.per_seconds,
            confidence(class.confidence),
        )
        .unwrap();
        writeln!(out, "    {},", camel(name)).unwrap();
    }
    out.push_str("}\n\nimpl RateClass {\n    /// Every class.\n");
    writeln!(
        out,
        "    pub const ALL: [RateClass; {}] = [",
        spec.rate_classes.len()
    )
    .unwrap();
    for name in spec.rate_classes.keys() {
        writeln!(out, "        RateClass::{},", camel(name)).unwrap();
    }
    out.push_str("    ];\n\n    /// The class name used in the spec.\n");
    out.push_str("    pub const fn as_str(self) -> &'static str {\n        match self {\n");
    for name in spec.rate_classes.keys() {
        writeln!(out, "            RateClass::{} => {name:?},", camel(name)).unwrap();
    }
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// How many requests the API allows per period.\n");
    out.push_str("    pub const fn requests(self) -> u32 {\n        match self {\n");
    for (name, class) in &spec.rate_classes {
        writeln!(
            out,
            "            RateClass::{} => {},",
            camel(name),
            class.requests
        )
        .unwrap();
    }
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// The period the request allowance refers to.\n");
    out.push_str("    pub const fn period(self) -> Duration {\n        match self {\n");
    for (name, class) in &spec.rate_classes {
        writeln!(
            out,
            "            RateClass::{} => Duration::from_secs({}),",
            camel(name),
            class.per_seconds
        )
        .unwrap();
    }
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// How sure the sources are of this limit.\n");
    out.push_str("    pub const fn confidence(self) -> Confidence {\n        match self {\n");
    for (name, class) in &spec.rate_classes {
        let c = match class.confidence {
            Confidence::High => "High",
            Confidence::Low => "Low",
        };
        writeln!(
            out,
            "            RateClass::{} => Confidence::{c},",
            camel(name)
        )
        .unwrap();
    }
    out.push_str("        }\n    }\n}\n\n");
}

fn confidence(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "published by Spoki",
        Confidence::Low => "observed, not published",
    }
}
