//! The limits on request bodies (`constraint::Rule`s) that follow from the spec: the
//! `not_blank`, `min_items` and `max_items` of fields and operations, and the E.164 check of
//! every `phone`, nested models and lists included.

use crate::spec::{Body, FieldDetail, Model, Operation, Spec, Type};

/// One rule as Rust source: its field path and its `Check` expression.
pub type RuleSource = (String, String);

/// The rules of a request model, its nested models' included, with paths relative to it.
pub fn model_rules(spec: &Spec, model: &str) -> Vec<RuleSource> {
    let mut out = Vec::new();
    collect(spec, model, "", &mut Vec::new(), &mut out);
    out
}

/// The rules of an operation's body.
pub fn body_rules(spec: &Spec, op: &Operation) -> Vec<RuleSource> {
    match op.body.as_deref().map(Body::parse) {
        None => Vec::new(),
        Some(Body::Object(model)) => model_rules(spec, &model),
        Some(Body::Array(model)) => {
            let mut out = Vec::new();
            if let Some(check) = items(op.min_items, op.max_items) {
                out.push((String::new(), check));
            }
            collect(spec, &model, "[].", &mut Vec::new(), &mut out);
            out
        }
    }
}

fn items(min: Option<usize>, max: Option<usize>) -> Option<String> {
    if min.is_none() && max.is_none() {
        return None;
    }
    let max = max.map_or("None".to_owned(), |m| format!("Some({m})"));
    Some(format!(
        "Check::Items {{ min: {}, max: {max} }}",
        min.unwrap_or(0)
    ))
}

fn collect(
    spec: &Spec,
    model: &str,
    prefix: &str,
    seen: &mut Vec<String>,
    out: &mut Vec<RuleSource>,
) {
    let Some(m) = spec.models.get(model) else {
        return;
    };
    if seen.iter().any(|s| s == model) {
        return;
    }
    seen.push(model.to_owned());
    for (json, field) in &m.fields {
        let d = field.detail();
        let Some(ty) = d.ty.as_deref().and_then(|t| Type::parse(t).ok()) else {
            continue;
        };
        let path = format!("{prefix}{json}");
        match ty.required_inner() {
            Type::Named(n) if n == "secret" && d.not_blank => {
                out.push((path, "Check::Secret".into()));
            }
            Type::Named(n) if n == "string" && d.not_blank => {
                out.push((path, "Check::NotBlank".into()));
            }
            Type::Named(n) if n == "phone" => out.push((path, "Check::Phone".into())),
            Type::Named(n) => collect(spec, n, &format!("{path}."), seen, out),
            Type::List(inner) => {
                if let Some(check) = items(d.min_items, d.max_items) {
                    out.push((path.clone(), check));
                }
                match inner.required_inner() {
                    Type::Named(n) if n == "phone" => {
                        out.push((format!("{path}[]"), "Check::Phone".into()))
                    }
                    Type::Named(n) => collect(spec, n, &format!("{path}[]."), seen, out),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    seen.pop();
}

/// Rules as the elements of a `&[Rule]` literal.
pub fn literal(rules: &[RuleSource]) -> String {
    rules
        .iter()
        .map(|(field, check)| format!("Rule {{ field: {field:?}, check: {check} }},\n"))
        .collect()
}

/// The body of a request model's `validate()`: the same rules as [`model_rules`], in the same
/// order, checked on the typed fields, so a typed call is checked without first being
/// encoded. Phones need no check: a `Phone` is E.164 by construction.
pub fn typed_checks(spec: &Spec, model: &str) -> String {
    let mut out = String::new();
    typed(
        spec,
        model,
        "self",
        "",
        &[],
        &mut vec![model.to_owned()],
        &mut out,
    );
    out
}

/// Appends to `out` the checks of `model`'s fields, read from `value`; `indexes` are the
/// counters of the list loops around them, for the error's position.
fn typed(
    spec: &Spec,
    model: &str,
    value: &str,
    prefix: &str,
    indexes: &[String],
    seen: &mut Vec<String>,
    out: &mut String,
) {
    let m = &spec.models[model];
    let at = format!("&[{}]", indexes.join(", "));
    for (json, field) in &m.fields {
        let d = field.detail();
        let Some(ty) = d.ty.as_deref().and_then(|t| Type::parse(t).ok()) else {
            continue;
        };
        let path = format!("{prefix}{json}");
        let place = format!("{value}.{}", crate::names::rust_field(json));
        let access = field_access(m, &ty, &place);
        match ty.required_inner() {
            Type::Named(n) if n == "secret" && d.not_blank => out.push_str(&format!(
                "crate::constraint::secret_at({path:?}, {at}, {access})?;\n"
            )),
            Type::Named(n) if n == "string" && d.not_blank => {
                let text = match &ty {
                    Type::Optional(_) => format!("{access}.map(String::as_str)"),
                    _ => format!("Some({place}.as_str())"),
                };
                out.push_str(&format!(
                    "crate::constraint::text_at({path:?}, {at}, {text})?;\n"
                ));
            }
            Type::Named(n) if spec.models.contains_key(n) && !seen.contains(n) => {
                let inner = nested_checks(spec, n, &format!("{path}."), indexes, seen);
                if !inner.is_empty() {
                    out.push_str(&format!("if let Some(v) = {access} {{\n{inner}}}\n"));
                }
            }
            Type::List(item) => {
                if let Some(check) = items_check(&d, &ty, &access, &place, &path, &at) {
                    out.push_str(&check);
                }
                if let Type::Named(n) = item.required_inner()
                    && spec.models.contains_key(n)
                    && !seen.contains(n)
                {
                    let i = format!("i{}", indexes.len());
                    let mut deeper = indexes.to_vec();
                    deeper.push(i.clone());
                    let inner = nested_checks(spec, n, &format!("{path}[]."), &deeper, seen);
                    let items = match &ty {
                        Type::Optional(_) => format!("{access}.into_iter().flatten()"),
                        _ => format!("{place}.iter()"),
                    };
                    if !inner.is_empty() {
                        out.push_str(&format!(
                            "for ({i}, v) in {items}.enumerate() {{\n{inner}}}\n"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The field at `place` as an `Option<&T>`: absent, cleared or not given all read as `None`.
fn field_access(model: &Model, ty: &Type, place: &str) -> String {
    match ty {
        Type::Optional(_) if model.patch && matches!(ty.required_inner(), Type::Named(_)) => {
            format!("{place}.as_set()")
        }
        Type::Optional(_) => format!("{place}.as_ref()"),
        _ => format!("Some(&{place})"),
    }
}

/// The checks of a nested model, reached as `v`. The model stays in `seen` meanwhile, so a
/// model that contains itself is checked once.
fn nested_checks(
    spec: &Spec,
    model: &str,
    prefix: &str,
    indexes: &[String],
    seen: &mut Vec<String>,
) -> String {
    let mut inner = String::new();
    seen.push(model.to_owned());
    typed(spec, model, "v", prefix, indexes, seen, &mut inner);
    seen.pop();
    inner
}

/// The `items_at` check of a list field with `min_items` or `max_items`.
fn items_check(
    d: &FieldDetail,
    ty: &Type,
    access: &str,
    place: &str,
    path: &str,
    at: &str,
) -> Option<String> {
    if d.min_items.is_none() && d.max_items.is_none() {
        return None;
    }
    let max = d
        .max_items
        .map_or("None".to_owned(), |m| format!("Some({m})"));
    let count = match ty {
        Type::Optional(_) => format!("{access}.map_or(0, Vec::len)"),
        _ => format!("{place}.len()"),
    };
    Some(format!(
        "crate::constraint::items_at({path:?}, {at}, {count}, {}, {max})?;\n",
        d.min_items.unwrap_or(0)
    ))
}
