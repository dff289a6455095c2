//! The spec covers the API, and the checked-in generated code matches it.

use std::collections::BTreeSet;

#[test]
fn generated_code_is_fresh() {
    let root = xtask::workspace_root();
    let stale = xtask::stale_files(&root).unwrap();
    assert!(
        stale.is_empty(),
        "generated files differ from spec/spoki.toml: {stale:?}\nrun `cargo xtask codegen` (and never edit @generated files by hand)"
    );
}

#[test]
fn generation_is_deterministic() {
    let root = xtask::workspace_root();
    assert_eq!(
        xtask::generate(&root).unwrap(),
        xtask::generate(&root).unwrap()
    );
}

#[test]
fn spec_covers_every_operation_of_the_reference() {
    let spec = xtask::load_spec(&xtask::workspace_root()).unwrap();
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/spoki-api.json")).unwrap();
    let expected: BTreeSet<(String, String, String)> = reference["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| {
            let field = |k: &str| op[k].as_str().unwrap().to_owned();
            (field("method"), field("path"), field("id"))
        })
        .collect();
    let actual: BTreeSet<(String, String, String)> = spec
        .operations
        .iter()
        .map(|op| (op.method.clone(), op.path.clone(), op.id.clone()))
        .collect();
    assert_eq!(actual, expected);
    assert_eq!(spec.operations.len(), 123);
    assert_eq!(spec.distinct_routes(), 115);
}

#[test]
fn published_rate_limits_are_carried() {
    let spec = xtask::load_spec(&xtask::workspace_root()).unwrap();
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/spoki-api.json")).unwrap();
    let mut checked = 0;
    for op in reference["operations"].as_array().unwrap() {
        let Some(limit) = op["rate_limit"].as_object() else {
            continue;
        };
        if limit["confidence"] != "high" {
            continue;
        }
        let ours = spec.operations.iter().find(|o| o.id == op["id"]).unwrap();
        let class = &spec.rate_classes[&ours.rate_class];
        assert_eq!(
            class.requests as u64,
            limit["requests"].as_u64().unwrap(),
            "{}",
            ours.id
        );
        assert_eq!(class.per_seconds, 60, "{}", ours.id);
        checked += 1;
    }
    assert_eq!(checked, 29);
}

#[test]
fn bad_specs_are_rejected_with_every_problem_named() {
    let text = std::fs::read_to_string(xtask::workspace_root().join(xtask::SPEC_PATH)).unwrap();
    let broken = text
        .replacen("rate_class = \"default\"", "rate_class = \"nope\"", 1)
        .replacen("response = \"Contact\"", "response = \"Kontakt\"", 1);
    let err = xtask::spec::Spec::parse(&broken).unwrap_err().to_string();
    assert!(err.contains("unknown rate class `nope`"), "{err}");
    assert!(err.contains("unknown response model `Kontakt`"), "{err}");
}

#[test]
fn spec_list_prints_one_line_per_operation() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec", "list"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 123);
    assert!(lines.contains(&"POST /wh/ap/{uuid}/bulk/ automations_start_bulk"));
    assert!(lines.iter().all(|l| l.split(' ').count() == 3));
}

/// The layers stay light: models and billing never pull in an async runtime or HTTP stack.
#[test]
fn models_and_billing_have_no_runtime_or_http_dependencies() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for package in ["spoki-models", "spoki-billing"] {
        let output = std::process::Command::new(&cargo)
            .args([
                "tree",
                "--offline",
                "-p",
                package,
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .current_dir(xtask::workspace_root())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let tree = String::from_utf8(output.stdout).unwrap();
        assert!(tree.contains(package));
        for heavy in ["tokio ", "reqwest ", "hyper "] {
            assert!(
                !tree.contains(heavy),
                "{package} depends on {heavy}:\n{tree}"
            );
        }
    }
}

/// Every body field the reference documents has a field of the same JSON name in the spec.
#[test]
fn request_bodies_carry_every_documented_field() {
    let spec = xtask::load_spec(&xtask::workspace_root()).unwrap();
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/spoki-api.json")).unwrap();
    let mut missing = Vec::new();
    for op in reference["operations"].as_array().unwrap() {
        let ours = spec.operations.iter().find(|o| o.id == op["id"]).unwrap();
        let documented: Vec<&str> = op["body"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        if documented.is_empty() {
            continue;
        }
        let Some(body) = &ours.body else {
            missing.push(format!("{}: no body model", ours.id));
            continue;
        };
        let model = &spec.models[xtask::spec::Body::parse(body).model()];
        for name in documented {
            if !model.fields.contains_key(name) {
                missing.push(format!("{}.{name}", ours.id));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fields documented but absent from the spec: {missing:?}"
    );
}
