//! Generates the wire enums and the models of `spoki-models`.

mod enums;

pub use enums::enums;

use crate::names::{doc_lines, rust_field};
use crate::spec::{Body, Model, ModelKind, Spec, Type, const_json};
use std::fmt::Write;

struct FieldPlan {
    json: String,
    ident: String,
    ty: Option<Type>,
    constant: Option<toml::Value>,
    doc: Option<String>,
    alias: Vec<String>,
}

impl FieldPlan {
    fn required(&self, kind: ModelKind) -> bool {
        self.ty.as_ref().is_some_and(|ty| ty.is_required_in(kind))
    }
}

/// The Rust type of a field type.
pub fn rust_type(ty: &Type) -> String {
    match ty {
        Type::Named(n) => match n.as_str() {
            "i64" | "f64" | "bool" => n.clone(),
            "string" => "String".into(),
            "phone" => "crate::Phone".into(),
            "money" => "crate::Money".into(),
            "datetime" => "crate::Timestamp".into(),
            "date" => "crate::Date".into(),
            "secret" => "crate::Secret".into(),
            "json" => "serde_json::Value".into(),
            "number_or_text" => "crate::NumberOrText".into(),
            "id_ref" => "crate::IdRef".into(),
            model => model.to_owned(),
        },
        Type::List(t) => format!("Vec<{}>", rust_type(t)),
        Type::Map(t) => format!("std::collections::BTreeMap<String, {}>", rust_type(t)),
        Type::Optional(t) => format!("Option<{}>", rust_type(t)),
    }
}

/// How a setter or constructor takes a value of this type.
pub fn param_type(ty: &Type) -> String {
    match ty {
        Type::Named(n) => match n.as_str() {
            "i64" | "f64" | "bool" => n.clone(),
            _ => format!("impl Into<{}>", rust_type(ty)),
        },
        Type::List(t) => format!("impl IntoIterator<Item = {}>", rust_type(t)),
        Type::Map(t) => format!(
            "impl IntoIterator<Item = (impl Into<String>, {})>",
            param_type(t)
        ),
        Type::Optional(t) => param_type(t),
    }
}

/// The expression that turns the parameter `var` into the field's type.
pub fn convert(ty: &Type, var: &str) -> String {
    match ty {
        Type::Named(n) => match n.as_str() {
            "i64" | "f64" | "bool" => var.to_owned(),
            _ => format!("{var}.into()"),
        },
        Type::List(_) => format!("{var}.into_iter().collect()"),
        Type::Map(t) => {
            let inner = match t.as_ref() {
                Type::Named(n) if matches!(n.as_str(), "i64" | "f64" | "bool") => "v",
                _ => "v.into()",
            };
            format!("{var}.into_iter().map(|(k, v)| (k.into(), {inner})).collect()")
        }
        Type::Optional(t) => format!("Some({})", convert(t, var)),
    }
}

fn is_collection(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::List(_) => Some("Vec::is_empty"),
        Type::Map(_) => Some("std::collections::BTreeMap::is_empty"),
        Type::Optional(_) | Type::Named(_) => None,
    }
}

fn plan(model: &Model) -> Vec<FieldPlan> {
    model
        .fields
        .iter()
        .map(|(json, field)| {
            let d = field.detail();
            FieldPlan {
                json: json.clone(),
                ident: rust_field(json),
                ty: d.ty.as_deref().map(|t| Type::parse(t).expect("validated")),
                constant: d.constant,
                doc: join_doc(d.doc, d.uncertain),
                alias: d.alias,
            }
        })
        .collect()
}

impl FieldPlan {
    /// The field's type (`None` for a constant).
    fn storage(&self) -> Option<&Type> {
        self.ty.as_ref()
    }
}

fn join_doc(doc: Option<String>, uncertain: Option<String>) -> Option<String> {
    match (doc, uncertain) {
        (Some(d), Some(u)) => Some(format!("{d}\n\nUncertain: {u}")),
        (Some(d), None) => Some(d),
        (None, Some(u)) => Some(format!("Uncertain: {u}")),
        (None, None) => None,
    }
}

/// The models, one file per resource group (`contacts.rs`) with the models only its
/// operations use, and `common.rs` with those several groups share; then `mod.rs`.
pub fn model_files(spec: &Spec) -> Vec<(String, String)> {
    let homes = homes(spec);
    let mut files: Vec<String> = Vec::new();
    for file in homes.values() {
        if !files.contains(file) {
            files.push(file.clone());
        }
    }
    files.sort();
    let mut out = Vec::new();
    let mut module = String::from(
        "//! The request and response models, one module per resource group and `common` for\n\
         //! the models several groups share; all of them are re-exported at the crate root.\n\n",
    );
    for file in &files {
        let about = match file.as_str() {
            "common" => "The models that the operations of several groups share.".to_owned(),
            group => format!("The models of the `{group}` operations."),
        };
        let mut code = format!(
            "//! {about}\n\n\
             // Fields the spec says nothing of have no doc rather than one that repeats the name.\n\
             #![allow(missing_docs)]\n\n\
             use serde::{{Deserialize, Serialize}};\n\
             #[allow(unused_imports)]\nuse crate::*;\n\
             #[allow(unused_imports)]\nuse crate::constraint::{{Check, ConstraintError, Rule}};\n"
        );
        for (name, model) in &spec.models {
            if homes[name] == *file {
                write_model(&mut code, spec, name, model);
            }
        }
        writeln!(module, "mod {file};\npub use {file}::*;").unwrap();
        out.push((format!("{file}.rs"), code));
    }
    out.push(("mod.rs".to_owned(), module));
    out
}

/// The file of each model: the group whose operations alone reach it (through bodies, answers
/// and the models inside them), or `common`.
fn homes(spec: &Spec) -> indexmap::IndexMap<String, String> {
    let mut groups: indexmap::IndexMap<String, Vec<String>> = spec
        .models
        .keys()
        .map(|m| (m.clone(), Vec::new()))
        .collect();
    for op in &spec.operations {
        let mut roots = Vec::new();
        if let Some(body) = op.body.as_deref() {
            roots.push(Body::parse(body).model().to_owned());
        }
        if let Ok(crate::spec::Response::Model(m) | crate::spec::Response::Page(m)) =
            crate::spec::Response::parse(&op.response)
        {
            roots.push(m);
        }
        let mut stack = roots;
        let mut seen = Vec::new();
        while let Some(model) = stack.pop() {
            let Some(m) = spec.models.get(&model) else {
                continue;
            };
            if seen.contains(&model) {
                continue;
            }
            seen.push(model.clone());
            let reached = groups.get_mut(&model).expect("every model is listed");
            if !reached.contains(&op.group) {
                reached.push(op.group.clone());
            }
            for field in m.fields.values() {
                if let Some(ty) = field
                    .detail()
                    .ty
                    .as_deref()
                    .and_then(|t| Type::parse(t).ok())
                {
                    stack.extend(named(&ty));
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(model, groups)| {
            let file = match groups.as_slice() {
                [one] => one.clone(),
                _ => "common".to_owned(),
            };
            (model, file)
        })
        .collect()
}

/// The model names a type refers to.
fn named(ty: &Type) -> Vec<String> {
    match ty {
        Type::Named(n) => vec![n.clone()],
        Type::List(t) | Type::Map(t) | Type::Optional(t) => named(t),
    }
}

fn write_model(out: &mut String, spec: &Spec, name: &str, model: &Model) {
    let fields = plan(model);
    let required: Vec<&FieldPlan> = fields.iter().filter(|f| f.required(model.kind)).collect();
    let has_new = !required.is_empty() || fields.iter().any(|f| f.constant.is_some());
    out.push_str(&doc_lines(&model_doc(name, model, has_new), ""));
    write_struct(out, spec, name, model, &fields, has_new);

    writeln!(out, "impl {name} {{").unwrap();
    write_const_fns(out, &fields);
    if has_new {
        write_new(out, name, model, &fields, &required);
    }
    write_setters(out, model, &fields);
    if model.kind == ModelKind::Request {
        write_request_checks(out, spec, name);
    }
    out.push_str("}\n\n");
    if model.kind == ModelKind::Request {
        writeln!(
            out,
            "impl crate::constraint::Validate for {name} {{\n    fn validate(&self) -> Result<(), ConstraintError> {{\n        {name}::validate(self)\n    }}\n}}\n"
        )
        .unwrap();
    }
    if has_new && required.is_empty() {
        writeln!(
            out,
            "impl Default for {name} {{\n    fn default() -> Self {{\n        Self::new()\n    }}\n}}\n"
        )
        .unwrap();
    }
}

/// The model's doc, ending with how to build one: `new` when it has required fields or
/// constants, `default()` otherwise.
fn model_doc(name: &str, model: &Model, has_new: bool) -> String {
    let mut doc = model.doc.clone();
    if let Some(u) = &model.uncertain {
        doc.push_str("\n\nUncertain: ");
        doc.push_str(u);
    }
    if !has_new {
        doc.push_str(&format!(
            "\n\nBuild one with `{name}::default()` and the setters named after its fields."
        ));
    } else {
        doc.push_str(&format!(
            "\n\nBuild one with `{name}::new` (its required fields) and the setters named after the others."
        ));
    }
    doc
}

/// The struct declaration. It derives `Default` only when there is no `new`.
fn write_struct(
    out: &mut String,
    spec: &Spec,
    name: &str,
    model: &Model,
    fields: &[FieldPlan],
    has_new: bool,
) {
    let default = if has_new { "" } else { ", Default" };
    writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq{default}, Serialize, Deserialize)]\n#[non_exhaustive]\npub struct {name} {{"
    )
    .unwrap();
    for f in fields {
        write_field(out, spec, name, model, f);
    }
    out.push_str("}\n\n");
}

/// One field of the struct: its doc, its serde attributes and its declaration.
fn write_field(out: &mut String, spec: &Spec, name: &str, model: &Model, f: &FieldPlan) {
    if f.constant.is_none()
        && let Some(doc) = &f.doc
    {
        out.push_str(&doc_lines(doc, "    "));
    }
    let mut attrs = Vec::new();
    if f.ident.trim_start_matches("r#") != f.json {
        attrs.push(format!("rename = {:?}", f.json));
    }
    for a in &f.alias {
        attrs.push(format!("alias = {a:?}"));
    }
    match (f.storage(), &f.constant) {
        (None, Some(value)) => write_const_field(out, name, f, value, attrs),
        (Some(ty), None) => write_typed_field(out, spec, model, f, ty, attrs),
        _ => unreachable!("validated"),
    }
}

/// A constant field: private, always encoded, never read from the input.
fn write_const_field(
    out: &mut String,
    name: &str,
    f: &FieldPlan,
    value: &toml::Value,
    mut attrs: Vec<String>,
) {
    out.push_str(&format!(
        "    /// Always `{}`: fixed by the kind of body this is.\n",
        const_json(value)
    ));
    // Decoding never changes a constant: it is the model's, not the input's.
    attrs.push("skip_deserializing".into());
    attrs.push(format!("default = \"{}::{}\"", name, const_fn(&f.ident)));
    writeln!(out, "    #[serde({})]", attrs.join(", ")).unwrap();
    writeln!(out, "    {}: serde_json::Value,", f.ident).unwrap();
}

/// A typed field and its serde attributes: when encoding leaves it out, and how leniently
/// decoding reads what PHP sends.
fn write_typed_field(
    out: &mut String,
    spec: &Spec,
    model: &Model,
    f: &FieldPlan,
    ty: &Type,
    mut attrs: Vec<String>,
) {
    if let Some(is_empty) = is_collection(ty) {
        attrs.push("default".into());
        // Lenient on input: PHP writes an empty map as `[]`.
        let read = match ty {
            Type::Map(_) => "crate::wire::lenient_map",
            _ => "crate::wire::null_as_default",
        };
        attrs.push(format!("deserialize_with = \"{read}\""));
        // A required list goes out even when empty: `[]` is what the caller meant.
        if !f.required(model.kind) {
            attrs.push(format!("skip_serializing_if = \"{is_empty}\""));
        }
    } else if let Some(inner) = patch_field(model, ty) {
        attrs.push("default".into());
        attrs.push("skip_serializing_if = \"crate::Patch::is_unchanged\"".into());
        writeln!(out, "    #[serde({})]", attrs.join(", ")).unwrap();
        writeln!(
            out,
            "    pub {}: crate::Patch<{}>,",
            f.ident,
            rust_type(inner)
        )
        .unwrap();
        return;
    } else if let Type::Optional(inner) = ty {
        attrs.push("default".into());
        attrs.push("skip_serializing_if = \"Option::is_none\"".into());
        // Lenient on input: PHP clients send an empty object as `[]`.
        if model.kind == ModelKind::Request
            && matches!(inner.as_ref(), Type::Named(n) if spec.models.contains_key(n))
        {
            attrs.push("deserialize_with = \"crate::wire::empty_list_as_none\"".into());
        }
    }
    if !attrs.is_empty() {
        writeln!(out, "    #[serde({})]", attrs.join(", ")).unwrap();
    }
    writeln!(out, "    pub {}: {},", f.ident, rust_type(ty)).unwrap();
}

/// The functions that give each constant field its value (serde's `default` names them).
fn write_const_fns(out: &mut String, fields: &[FieldPlan]) {
    for f in fields {
        let Some(value) = &f.constant else { continue };
        let expr = match value {
            toml::Value::String(s) => format!("serde_json::Value::from({s:?})"),
            toml::Value::Boolean(b) => format!("serde_json::Value::Bool({b})"),
            other => format!("serde_json::Value::from({other}i64)"),
        };
        writeln!(
            out,
            "    fn {}() -> serde_json::Value {{\n        {expr}\n    }}\n",
            const_fn(&f.ident)
        )
        .unwrap();
    }
}

/// `new`: the required fields as arguments, the constants set, every other field empty.
fn write_new(
    out: &mut String,
    name: &str,
    model: &Model,
    fields: &[FieldPlan],
    required: &[&FieldPlan],
) {
    let params: Vec<String> = required
        .iter()
        .map(|f| format!("{}: {}", f.ident, param_type(f.storage().unwrap())))
        .collect();
    out.push_str(&format!("    /// A `{name}` with its required fields.\n"));
    writeln!(out, "    pub fn new({}) -> Self {{", params.join(", ")).unwrap();
    writeln!(out, "        {name} {{").unwrap();
    for f in fields {
        let value = match (f.storage(), &f.constant) {
            (None, Some(_)) => format!("{name}::{}()", const_fn(&f.ident)),
            (Some(ty), None) if f.required(model.kind) => convert(ty, &f.ident),
            _ => "Default::default()".into(),
        };
        if value == f.ident {
            writeln!(out, "            {value},").unwrap();
        } else {
            writeln!(out, "            {}: {value},", f.ident).unwrap();
        }
    }
    out.push_str("        }\n    }\n\n");
}

/// One setter per typed field, named after it (a raw identifier stays raw).
fn write_setters(out: &mut String, model: &Model, fields: &[FieldPlan]) {
    for f in fields {
        let Some(ty) = f.storage() else { continue };
        let setter = f.ident.trim_start_matches("r#");
        let setter = if setter == f.ident {
            setter.to_owned()
        } else {
            format!("r#{setter}")
        };
        if let Some(inner) = patch_field(model, ty) {
            write_patch_setters(out, f, &setter, inner);
            continue;
        }
        writeln!(out, "    /// Sets `{}`.", f.json).unwrap();
        writeln!(
            out,
            "    pub fn {setter}(mut self, value: {}) -> Self {{\n        self.{} = {};\n        self\n    }}\n",
            param_type(ty),
            f.ident,
            convert(ty, "value")
        )
        .unwrap();
    }
}

/// The setter of a `Patch` field, and the `clear_` method that sends it as `null`.
fn write_patch_setters(out: &mut String, f: &FieldPlan, setter: &str, inner: &Type) {
    writeln!(
        out,
        "    /// Sets `{json}`.\n    pub fn {setter}(mut self, value: {}) -> Self {{\n        self.{ident} = crate::Patch::Set({});\n        self\n    }}\n",
        param_type(inner),
        convert(inner, "value"),
        json = f.json,
        ident = f.ident,
    )
    .unwrap();
    writeln!(
        out,
        "    /// Clears `{json}` (sends `null`).\n    pub fn clear_{}(mut self) -> Self {{\n        self.{ident} = crate::Patch::Clear;\n        self\n    }}\n",
        f.ident.trim_start_matches("r#"),
        json = f.json,
        ident = f.ident,
    )
    .unwrap();
}

/// A request's `RULES` and its `validate()`, so a body is checked before it is sent.
fn write_request_checks(out: &mut String, spec: &Spec, name: &str) {
    let rules = crate::rules::model_rules(spec, name);
    writeln!(
        out,
        "    /// The limits the API puts on this body, nested models included.\n    pub const RULES: &'static [Rule] = &[\n{}];\n",
        crate::rules::literal(&rules)
    )
    .unwrap();
    writeln!(
        out,
        "    /// Checks [`RULES`](Self::RULES) on the typed fields, without encoding the body:\n    /// what Spoki would refuse is caught before it is sent.\n    pub fn validate(&self) -> Result<(), ConstraintError> {{\n{}        Ok(())\n    }}",
        crate::rules::typed_checks(spec, name)
    )
    .unwrap();
}

/// The value type of an optional scalar field of a partial-update model, which is a `Patch`.
fn patch_field<'t>(model: &Model, ty: &'t Type) -> Option<&'t Type> {
    match ty {
        Type::Optional(inner) if model.patch && matches!(inner.as_ref(), Type::Named(_)) => {
            Some(inner)
        }
        _ => None,
    }
}

fn const_fn(ident: &str) -> String {
    format!("const_{}", ident.trim_start_matches("r#"))
}

/// A test helper: every operation with a body, mapped to a round trip through its model.
pub fn body_round_trip(spec: &Spec) -> String {
    let mut out = String::from(
        "//! Every operation's body model, by operation id, for tests that rebuild documented\n\
         //! request bodies.\n\n\
         /// Decodes `body` as the request model of `operation` and encodes it again; `None` for\n\
         /// an operation without a body.\n\
         pub fn rebuild(\n    operation: &str,\n    body: serde_json::Value,\n\
         ) -> Option<Result<serde_json::Value, serde_json::Error>> {\n    Some(match operation {\n",
    );
    for op in &spec.operations {
        let ty = match op.body.as_deref().map(Body::parse) {
            None => continue,
            Some(Body::Object(m)) => format!("spoki_models::{m}"),
            Some(Body::Array(m)) => format!("Vec<spoki_models::{m}>"),
        };
        writeln!(
            out,
            "        {:?} => serde_json::from_value::<{ty}>(body).and_then(|m| serde_json::to_value(&m)),",
            op.id
        )
        .unwrap();
    }
    out.push_str("        _ => return None,\n    })\n}\n\n");
    out.push_str(
        "/// Decodes `body` as the request model of `operation` (one whose body is an object) and\n\
         /// checks it on its typed fields; `None` for an operation without such a body.\n\
         pub fn validate(\n    operation: &str,\n    body: serde_json::Value,\n\
         ) -> Option<Result<Result<(), spoki_models::constraint::ConstraintError>, serde_json::Error>> {\n\
         \x20   Some(match operation {\n",
    );
    for op in &spec.operations {
        if let Some(Body::Object(m)) = op.body.as_deref().map(Body::parse) {
            writeln!(
                out,
                "        {:?} => serde_json::from_value::<spoki_models::{m}>(body).map(|m| m.validate()),",
                op.id
            )
            .unwrap();
        }
    }
    out.push_str("        _ => return None,\n    })\n}\n");
    out
}
