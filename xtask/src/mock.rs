//! The route table of `spoki-mock`: one entry per operation, so the local Spoki serves every
//! operation of the spec without a hand-written handler for each.

use crate::client::{TypedCall, sample, typed_call};
use crate::names::snake_upper;
use crate::spec::{Body, Response, Spec, Type, const_json};
use std::fmt::Write;

/// The `ROUTES` table: the operation, how its body is decoded, and the shape of its answer.
pub fn routes(spec: &Spec) -> String {
    let mut out = String::from(
        "//! The route table: for every operation, the typed model its body must decode into and\n\
         //! the shape of its answer.\n\n\
         use crate::route::{Reply, RequestBody, Route, decode};\n\
         use spoki_models::{self as models, operation};\n\n",
    );
    writeln!(
        out,
        "/// Every operation of the spec, in spec order.\npub static ROUTES: [Route; {}] = [",
        spec.operations.len()
    )
    .unwrap();
    for op in &spec.operations {
        let body = match op.body.as_deref().map(Body::parse) {
            None => "None".to_owned(),
            Some(body) => {
                let model = &spec.models[body.model()];
                let mut consts = Vec::new();
                let mut required = Vec::new();
                for (json, field) in &model.fields {
                    let detail = field.detail();
                    if let Some(constant) = &detail.constant {
                        consts.push(format!("({json:?}, {:?})", const_json(constant)));
                    } else if let Some(ty) = detail.ty.as_deref()
                        && Type::parse(ty)
                            .expect("validated")
                            .is_required_in(model.kind)
                    {
                        required.push(format!("{json:?}"));
                    }
                }
                let ty = match &body {
                    Body::Object(m) => format!("models::{m}"),
                    Body::Array(m) => format!("Vec<models::{m}>"),
                };
                format!(
                    "Some(RequestBody {{ decode: decode::<{ty}>, consts: &[{}], required: &[{}] }})",
                    consts.join(", "),
                    required.join(", ")
                )
            }
        };
        let reply = match Response::parse(&op.response).expect("validated") {
            Response::Empty => "Reply::Empty".to_owned(),
            Response::Json => "Reply::Json".to_owned(),
            Response::Model(m) => format!(
                "Reply::Model {{ sample: r#\"{}\"#, check: decode::<models::{m}> }}",
                sample(spec, &Type::Named(m.clone()))
            ),
            Response::Page(m) => format!("Reply::Page {{ check: decode::<models::{m}> }}"),
        };
        writeln!(
            out,
            "    Route {{ operation: &operation::{}, body: {body}, reply: {reply} }},",
            snake_upper(&op.id)
        )
        .unwrap();
    }
    out.push_str("];\n");
    out
}

/// A test that calls every operation through its typed method, over reqwest, against the
/// local Spoki, and checks that each answer decodes (or is the error the kit expects).
pub fn conformance_test(spec: &Spec) -> String {
    let mut out = String::from(
        "//! Every operation of the spec, called through its typed method over reqwest against\n\
         //! the local Spoki: each answer decodes into its model, or is the documented error\n\
         //! that `support::EXPECTED_ERRORS` names.\n\n\
         #![allow(deprecated)]\n\nmod support;\n\nuse spoki_client::models;\nuse support::Kit;\n\n",
    );
    for op in &spec.operations {
        let args: Vec<String> = op
            .path_params
            .iter()
            .map(|(name, ty)| match ty.as_str() {
                "i64" => format!("kit.id({:?})", op.group),
                _ => format!("&kit.text({name:?})"),
            })
            .collect();
        let TypedCall {
            wire,
            body_type,
            call,
        } = typed_call(spec, op, args);
        let mut setup = String::new();
        // A body the call builds itself (every field fixed) needs no sample.
        if let (Some(value), Some(ty)) = (&wire, &body_type) {
            setup.push_str(&format!(
                "    let wire = kit.fill(r#\"{value}\"#);\n    let body: {ty} = serde_json::from_str(&wire).unwrap();\n"
            ));
        }
        writeln!(
            out,
            "#[tokio::test]\nasync fn {id}() {{\n    let kit = Kit::start({id:?}).await;\n    let client = kit.client();\n{setup}    let result = {call}.await;\n    kit.check(result.map(drop));\n}}\n",
            id = op.id,
        )
        .unwrap();
    }
    out
}
