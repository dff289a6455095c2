//! The limits on request bodies (`constraint::Rule`s) that follow from the spec: the
//! `not_blank`, `min_items` and `max_items` of fields and operations, and the E.164 check of
//! every `phone`, nested models and lists included.

use crate::spec::{Body, Operation, Spec, Type};

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
        let ident = crate::names::rust_field(json);
        // The field as an `Option<&T>`: absent, cleared or not given all read as `None`.
        let access = match &ty {
            Type::Optional(_) if m.patch && matches!(ty.required_inner(), Type::Named(_)) => {
                format!("{value}.{ident}.as_set()")
            }
            Type::Optional(_) => format!("{value}.{ident}.as_ref()"),
            _ => format!("Some(&{value}.{ident})"),
        };
        match ty.required_inner() {
            Type::Named(n) if n == "secret" && d.not_blank => out.push_str(&format!(
                "crate::constraint::secret_at({path:?}, {at}, {access})?;\n"
            )),
            Type::Named(n) if n == "string" && d.not_blank => {
                let text = match &ty {
                    Type::Optional(_) => format!("{access}.map(String::as_str)"),
                    _ => format!("Some({value}.{ident}.as_str())"),
                };
                out.push_str(&format!(
                    "crate::constraint::text_at({path:?}, {at}, {text})?;\n"
                ));
            }
            Type::Named(n) if spec.models.contains_key(n) && !seen.contains(n) => {
                let mut inner = String::new();
                seen.push(n.clone());
                typed(spec, n, "v", &format!("{path}."), indexes, seen, &mut inner);
                seen.pop();
                if !inner.is_empty() {
                    out.push_str(&format!("if let Some(v) = {access} {{\n{inner}}}\n"));
                }
            }
            Type::List(item) => {
                if d.min_items.is_some() || d.max_items.is_some() {
                    let max = d
                        .max_items
                        .map_or("None".to_owned(), |m| format!("Some({m})"));
                    let count = match &ty {
                        Type::Optional(_) => format!("{access}.map_or(0, Vec::len)"),
                        _ => format!("{value}.{ident}.len()"),
                    };
                    out.push_str(&format!(
                        "crate::constraint::items_at({path:?}, {at}, {count}, {}, {max})?;\n",
                        d.min_items.unwrap_or(0)
                    ));
                }
                if let Type::Named(n) = item.required_inner()
                    && spec.models.contains_key(n)
                    && !seen.contains(n)
                {
                    let i = format!("i{}", indexes.len());
                    let mut deeper = indexes.to_vec();
                    deeper.push(i.clone());
                    let mut inner = String::new();
                    seen.push(n.clone());
                    typed(
                        spec,
                        n,
                        "v",
                        &format!("{path}[]."),
                        &deeper,
                        seen,
                        &mut inner,
                    );
                    seen.pop();
                    let items = match &ty {
                        Type::Optional(_) => format!("{access}.into_iter().flatten()"),
                        _ => format!("{value}.{ident}.iter()"),
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
