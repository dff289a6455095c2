//! Generates the command table of the `spoki` command line: one subcommand per operation,
//! with what it takes to turn flags into the call.

use crate::client::method_name;
use crate::names::snake_upper;
use crate::spec::{Body, Repr, Response, Spec, Type, const_json, path_placeholders};
use std::collections::HashSet;
use std::fmt::Write;

/// The subcommand name of an operation inside its group: `rotate_secret` → `rotate-secret`.
pub fn command_name(method: &str) -> String {
    method
        .strip_prefix("r#")
        .unwrap_or(method)
        .replace('_', "-")
}

/// The `Kind` variant an argument of this type is read as.
pub fn kind(spec: &Spec, ty: &Type) -> &'static str {
    match ty {
        Type::Optional(inner) => kind(spec, inner),
        Type::List(_) | Type::Map(_) => "Json",
        Type::Named(name) => match name.as_str() {
            // `money` is thousandths of EUR on the wire, an integer.
            "i64" | "money" => "Integer",
            "f64" => "Number",
            "bool" => "Bool",
            "string" | "phone" | "datetime" | "date" => "Text",
            // Read from an environment variable: a flag's value stays in `ps` and the history.
            "secret" => "SecretEnv",
            // Either shape is valid JSON, so the user picks it.
            "json" | "number_or_text" | "id_ref" => "Json",
            name => match spec.enums.get(name).map(|e| e.repr) {
                Some(Repr::String) => "Text",
                // Integer enums travel as numbers (the user types the number); models are
                // objects.
                Some(Repr::Integer) | None => "Json",
            },
        },
    }
}

/// The wire values an argument of this type may take: an enum's spellings (of each item, for
/// a list of enums); empty when any value goes.
fn values(spec: &Spec, ty: &Type) -> Vec<String> {
    match ty {
        Type::Optional(inner) | Type::List(inner) => values(spec, inner),
        Type::Map(_) => Vec::new(),
        Type::Named(name) => spec.enums.get(name).map_or_else(Vec::new, |e| {
            e.values.values().flat_map(|v| v.spellings()).collect()
        }),
    }
}

fn param(name: &str, kind: &str, required: bool, values: &[String]) -> String {
    format!(
        "Param {{ name: {name:?}, kind: Kind::{kind}, required: {required}, values: &{values:?} }}"
    )
}

/// The fields of an operation's answer (or of each item of a page) that hold money.
fn money_fields(spec: &Spec, response: &str) -> Vec<String> {
    let model = match Response::parse(response) {
        Ok(Response::Model(m) | Response::Page(m)) => m,
        _ => return Vec::new(),
    };
    spec.models.get(&model).map_or_else(Vec::new, |m| {
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

fn body(spec: &Spec, text: Option<&str>, requires: &[String]) -> String {
    let Some(text) = text else {
        return "Body::None".into();
    };
    let name = match Body::parse(text) {
        Body::Array(m) => return format!("Body::Array {{ check: check::<Vec<models::{m}>> }}"),
        Body::Object(m) => m,
    };
    let model = &spec.models[&name];
    let mut fields = Vec::new();
    let mut constants = Vec::new();
    for (json, field) in &model.fields {
        let detail = field.detail();
        if let Some(constant) = &detail.constant {
            constants.push(format!("({json:?}, {:?})", const_json(constant)));
        } else {
            let ty = Type::parse(detail.ty.as_deref().expect("validated")).expect("validated");
            let required = ty.is_required_in(model.kind) || requires.contains(json);
            fields.push(param(json, kind(spec, &ty), required, &values(spec, &ty)));
        }
    }
    // Every field a constant: the same rule as the client's `fixed_body`.
    if fields.is_empty() {
        return format!("Body::Fixed(fixed::<models::{name}>)");
    }
    format!(
        "Body::Object {{ fields: &[{}], constants: &[{}], check: check::<models::{name}> }}",
        fields.join(", "),
        constants.join(", ")
    )
}

/// The `COMMANDS` table: one `OpCommand` per operation, in spec order.
pub fn commands(spec: &Spec) -> String {
    let mut out = String::from(
        "//! The command table: one entry per operation, in spec order.\n\n\
         use crate::api::table::{Body, Kind, OpCommand, Param, check, fixed};\n\
         use spoki_client::models::{self as models, operation};\n\n",
    );
    writeln!(
        out,
        "/// Every operation of the spec, in spec order.\npub static COMMANDS: [OpCommand; {}] = [",
        spec.operations.len()
    )
    .unwrap();
    let mut seen = HashSet::new();
    for op in &spec.operations {
        let name = command_name(&method_name(op));
        assert!(
            seen.insert((op.group.as_str(), name.clone())),
            "operation `{}`: command `spoki {} {name}` is taken by another operation of its group",
            op.id,
            op.group
        );
        let mut about = op.summary.clone();
        if op.deprecated.is_some() && !about.to_ascii_lowercase().contains("deprecated") {
            about.push_str(" (deprecated)");
        }
        let path_params: Vec<String> = path_placeholders(&op.path)
            .into_iter()
            .map(|p| match op.path_params[p].as_str() {
                "i64" => param(p, "Integer", true, &[]),
                _ => param(p, "Text", true, &[]),
            })
            .collect();
        let query: Vec<String> = op
            .query
            .iter()
            .map(|(q, ty)| {
                let ty = Type::parse(ty).expect("validated");
                param(q, kind(spec, &ty), false, &values(spec, &ty))
            })
            .collect();
        let pages = matches!(Response::parse(&op.response), Ok(Response::Page(_)));
        writeln!(
            out,
            "    OpCommand {{ operation: &operation::{}, name: {name:?}, about: {about:?}, path_params: &[{}], query: &[{}], body: {}, pages: {pages}, money: &{:?} }},",
            snake_upper(&op.id),
            path_params.join(", "),
            query.join(", "),
            body(spec, op.body.as_deref(), &op.requires),
            money_fields(spec, &op.response),
        )
        .unwrap();
    }
    out.push_str("];\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_kebab_without_raw_prefix() {
        assert_eq!(command_name("rotate_secret"), "rotate-secret");
        assert_eq!(command_name("r#move"), "move");
        assert_eq!(command_name("list"), "list");
    }
}
