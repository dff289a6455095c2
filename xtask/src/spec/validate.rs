//! The checks that keep a spec consistent. Each check pushes what it finds onto one list, in
//! the order of the spec, so that one run reports every problem.

use super::{
    Auth, BUILTINS, Body, Enum, EnumValue, FieldDetail, Model, ModelKind, Operation, Repr,
    Response, Spec, SpecErrors, Type, path_placeholders,
};
use std::collections::HashSet;

impl Spec {
    pub(super) fn validate(&self) -> Result<(), SpecErrors> {
        let mut errors = Vec::new();
        if !self.rate_classes.contains_key("default") {
            errors.push("rate_classes: the `default` class is missing".into());
        }
        let mut ids = HashSet::new();
        for op in &self.operations {
            let at = format!("operation `{}`", op.id);
            if !ids.insert(op.id.as_str()) {
                errors.push(format!("{at}: duplicate id"));
            }
            self.check_operation(op, &at, &mut errors);
        }
        for (name, model) in &self.models {
            for (field, spec) in &model.fields {
                let at = format!("model `{name}` field `{field}`");
                self.check_field(model, at, &spec.detail(), &mut errors);
            }
        }
        for (name, e) in &self.enums {
            check_enum_values(name, e, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SpecErrors(errors))
        }
    }

    /// Whether a type name is a builtin, a model or an enum of the spec.
    fn is_known_type(&self, name: &str) -> bool {
        BUILTINS.contains(&name) || self.models.contains_key(name) || self.enums.contains_key(name)
    }

    /// Checks that a field type parses and that every name in it is known.
    fn check_type(&self, context: String, text: &str, errors: &mut Vec<String>) {
        match Type::parse(text) {
            Ok(ty) => {
                let mut names = Vec::new();
                ty.names(&mut names);
                for n in names.iter().filter(|n| !self.is_known_type(n)) {
                    errors.push(format!("{context}: unknown type `{n}`"));
                }
            }
            Err(e) => errors.push(format!("{context}: {e}")),
        }
    }

    fn check_operation(&self, op: &Operation, at: &str, errors: &mut Vec<String>) {
        self.check_route(op, at, errors);
        if !self.rate_classes.contains_key(&op.rate_class) {
            errors.push(format!("{at}: unknown rate class `{}`", op.rate_class));
        }
        self.check_body_and_response(op, at, errors);
        self.check_body_options(op, at, errors);
    }

    /// The method, the path and its parameters, and the query parameters.
    fn check_route(&self, op: &Operation, at: &str, errors: &mut Vec<String>) {
        if !["GET", "POST", "PATCH", "PUT", "DELETE"].contains(&op.method.as_str()) {
            errors.push(format!("{at}: unknown method {}", op.method));
        }
        if !op.path.starts_with('/') || !op.path.ends_with('/') {
            errors.push(format!("{at}: path must start and end with `/`"));
        }
        let placeholders = path_placeholders(&op.path);
        let declared: Vec<&str> = op.path_params.keys().map(String::as_str).collect();
        if placeholders != declared {
            errors.push(format!(
                "{at}: path placeholders {placeholders:?} differ from path_params {declared:?}"
            ));
        }
        for (name, ty) in &op.path_params {
            self.check_type(format!("{at} path param `{name}`"), ty, errors);
        }
        for (name, ty) in &op.query {
            self.check_type(format!("{at} query `{name}`"), ty, errors);
        }
    }

    /// The body names a request model and the response a model of the spec.
    fn check_body_and_response(&self, op: &Operation, at: &str, errors: &mut Vec<String>) {
        if let Some(body) = &op.body {
            match self.models.get(Body::parse(body).model()) {
                Some(m) if m.kind == ModelKind::Request => {}
                Some(_) => errors.push(format!("{at}: body `{body}` is not a request model")),
                None => errors.push(format!("{at}: unknown body model `{body}`")),
            }
        }
        match Response::parse(&op.response) {
            Ok(Response::Model(m) | Response::Page(m)) if !self.models.contains_key(&m) => {
                errors.push(format!("{at}: unknown response model `{m}`"))
            }
            Err(e) => errors.push(format!("{at}: {e}")),
            _ => {}
        }
    }

    /// The settings that only make sense with a body of the right shape: item limits,
    /// `requires`, `recipients` and the automation secret.
    fn check_body_options(&self, op: &Operation, at: &str, errors: &mut Vec<String>) {
        let list_body = matches!(op.body.as_deref().map(Body::parse), Some(Body::Array(_)));
        if (op.min_items.is_some() || op.max_items.is_some()) && !list_body {
            errors.push(format!(
                "{at}: min_items/max_items need a body that is a list"
            ));
        }
        let body_model = op
            .body
            .as_deref()
            .and_then(|b| self.models.get(Body::parse(b).model()));
        for field in &op.requires {
            if !body_model.is_some_and(|m| m.fields.contains_key(field)) {
                errors.push(format!(
                    "{at}: requires `{field}`, which is not a body field"
                ));
            }
        }
        if let Some(path) = &op.recipients {
            let rules = crate::rules::body_rules(self, op);
            let phone = rules
                .iter()
                .any(|(field, check)| field == path && check.ends_with("Phone"));
            if !phone {
                errors.push(format!(
                    "{at}: recipients `{path}` is not a phone field of the body"
                ));
            }
        }
        if op.auth == Auth::AutomationSecret && op.body.is_none() {
            errors.push(format!(
                "{at}: automation-secret auth needs a body with the secret"
            ));
        }
    }

    /// A model field: its limits, then exactly one of a known type and a request constant.
    fn check_field(&self, model: &Model, at: String, d: &FieldDetail, errors: &mut Vec<String>) {
        check_field_limits(&at, d, errors);
        match (&d.ty, &d.constant) {
            (Some(ty), None) => self.check_type(at, ty, errors),
            (
                None,
                Some(toml::Value::String(_) | toml::Value::Boolean(_) | toml::Value::Integer(_)),
            ) if model.kind == ModelKind::Request => {}
            (None, Some(_)) => errors.push(format!("{at}: const fields belong in requests")),
            _ => errors.push(format!("{at}: give exactly one of `type` and `const`")),
        }
    }
}

/// `not_blank`, `min_items` and `max_items` fit the field's type, which must be required.
fn check_field_limits(at: &str, d: &FieldDetail, errors: &mut Vec<String>) {
    let ty = d.ty.as_deref().and_then(|t| Type::parse(t).ok());
    let inner = ty.as_ref().map(Type::required_inner);
    if (d.min_items.is_some() || d.max_items.is_some()) && !matches!(inner, Some(Type::List(_))) {
        errors.push(format!("{at}: min_items/max_items need a list"));
    }
    if d.not_blank && !matches!(inner, Some(Type::Named(n)) if n == "string" || n == "secret") {
        errors.push(format!("{at}: not_blank needs a string or a secret"));
    }
    let limited = d.not_blank || d.min_items.is_some() || d.max_items.is_some();
    // An absent field breaks its limits: they belong on required fields only.
    if limited && matches!(ty, Some(Type::Optional(_))) {
        errors.push(format!("{at}: limits need a required field, not `?`"));
    }
    if let Some(Type::List(item)) = inner
        && matches!(item.required_inner(), Type::List(_))
        && limited
    {
        errors.push(format!("{at}: limits on a list of lists are not supported"));
    }
}

/// Every value of an enum is spelled as its repr says.
fn check_enum_values(name: &str, e: &Enum, errors: &mut Vec<String>) {
    for (variant, value) in &e.values {
        let ok = match (e.repr, value) {
            (Repr::Integer, EnumValue::Integer(_)) => true,
            (Repr::String, EnumValue::Text(_)) => true,
            (Repr::String, EnumValue::Spellings(all)) => !all.is_empty(),
            _ => false,
        };
        if !ok {
            errors.push(format!(
                "enum `{name}` value `{variant}` does not match its repr"
            ));
        }
    }
}
