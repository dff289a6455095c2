//! The conformance test of `spoki-mock`: every operation called through its typed method.

use crate::client::{TypedCall, typed_call};
use crate::spec::Spec;
use std::fmt::Write;

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
