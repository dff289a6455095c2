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

fn param(name: &str, kind: &str, required: bool) -> String {
    format!("Param {{ name: {name:?}, kind: Kind::{kind}, required: {required} }}")
}

fn body(spec: &Spec, text: Option<&str>) -> String {
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
            let required = ty.is_required_in(model.kind);
            fields.push(param(json, kind(spec, &ty), required));
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
                "i64" => param(p, "Integer", true),
                _ => param(p, "Text", true),
            })
            .collect();
        let query: Vec<String> = op
            .query
            .iter()
            .map(|(q, ty)| param(q, kind(spec, &Type::parse(ty).expect("validated")), false))
            .collect();
        let pages = matches!(Response::parse(&op.response), Ok(Response::Page(_)));
        writeln!(
            out,
            "    OpCommand {{ operation: &operation::{}, name: {name:?}, about: {about:?}, path_params: &[{}], query: &[{}], body: {}, pages: {pages} }},",
            snake_upper(&op.id),
            path_params.join(", "),
            query.join(", "),
            body(spec, op.body.as_deref()),
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
