//! The OpenAPI document generated from the spec: deterministic, every operation once, every
//! `$ref` resolved, and checked for freshness by `cargo xtask codegen --check`. (Its validation
//! as OpenAPI 3.1 is `scripts/openapi-check.py`, run by the mock's `openapi` test.)

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn document() -> (String, Value) {
    let root = xtask::workspace_root();
    let spec = xtask::load_spec(&root).unwrap();
    let (path, text) = xtask::openapi_file(&root, &spec).unwrap();
    assert_eq!(path, PathBuf::from(xtask::openapi::PATH));
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

#[test]
fn the_document_is_deterministic_sorted_json_without_the_rust_header() {
    let (first, value) = document();
    let (second, _) = document();
    assert_eq!(first, second);
    assert!(
        first.starts_with("{\n  \"components\": {"),
        "not sorted JSON"
    );
    assert!(first.ends_with("}\n"));
    assert!(!first.contains("// @generated"));
    let mut sorted = value.clone();
    sorted.sort_all_objects();
    assert_eq!(serde_json::to_string_pretty(&sorted).unwrap() + "\n", first);
    assert_eq!(value["openapi"], "3.1.0");
    assert_eq!(value["info"]["x-generated"], xtask::openapi::GENERATED);
    assert_eq!(
        value["info"]["version"],
        xtask::workspace_version(&xtask::workspace_root()).unwrap()
    );
}

#[test]
fn every_operation_of_the_spec_appears_once() {
    let spec = xtask::load_spec(&xtask::workspace_root()).unwrap();
    let (_, document) = document();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut route_ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(route_ids.insert(op["operationId"].as_str().unwrap().to_owned()));
            let listed: Vec<&Value> = match op.get("x-spoki-operations") {
                Some(shared) => shared.as_array().unwrap().iter().collect(),
                None => vec![op],
            };
            for each in listed {
                let id = each["operationId"].as_str().unwrap();
                *seen.entry(id.to_owned()).or_default() += 1;
                let ours = spec.operations.iter().find(|o| o.id == id).unwrap();
                assert_eq!(
                    (ours.method.to_lowercase(), &ours.path),
                    (method.clone(), path)
                );
            }
        }
    }
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    let ids: BTreeSet<&str> = spec.operations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        seen.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        ids
    );
    assert_eq!(seen.len(), 123);
    // A route's operation id is a spec id, or the name of a shared route.
    let shared: BTreeSet<&str> = route_ids
        .iter()
        .map(String::as_str)
        .filter(|id| !ids.contains(id))
        .collect();
    assert_eq!(shared, BTreeSet::from(["contacts_patch", "messages_send"]));
    assert_eq!(route_ids.len(), spec.distinct_routes());
}

fn refs<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_model_and_enum_has_a_schema_and_every_ref_resolves() {
    let spec = xtask::load_spec(&xtask::workspace_root()).unwrap();
    let (_, document) = document();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for name in spec.models.keys().chain(spec.enums.keys()) {
        assert!(schemas.contains_key(name), "no schema for {name}");
    }
    let mut targets = Vec::new();
    refs(&document, &mut targets);
    assert!(targets.len() > 200, "{} refs", targets.len());
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target} points outside components/schemas"));
        assert!(schemas.contains_key(name), "{target} leads nowhere");
    }
    // The limits of the spec are schema keywords.
    let sync_all = &document["paths"]["/api/1/contacts/sync_all/"]["post"];
    let sync = &sync_all["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(
        (&sync["minItems"], &sync["maxItems"]),
        (&1.into(), &500.into())
    );
    let bulk = &schemas["AutomationStartBulk"];
    assert_eq!(bulk["properties"]["contacts"]["minItems"], 1);
    assert_eq!(bulk["properties"]["secret"]["writeOnly"], true);
    assert_eq!(
        bulk["required"],
        serde_json::json!(["secret", "contacts"]),
        "fields without `?` are required"
    );
}

/// `cargo xtask codegen --check` compares the document too, as JSON (no Rust header, no
/// rustfmt): in a copy of the workspace's inputs, only a changed document is reported.
#[test]
fn codegen_check_reports_a_stale_document() {
    let real = xtask::workspace_root();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("openapi-stale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("spec")).unwrap();
    std::fs::copy(real.join(xtask::SPEC_PATH), root.join(xtask::SPEC_PATH)).unwrap();
    std::fs::copy(real.join("Cargo.toml"), root.join("Cargo.toml")).unwrap();
    for (path, code) in xtask::generate(&root).unwrap() {
        let full = root.join(&path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, code).unwrap();
    }
    assert_eq!(xtask::stale_files(&root).unwrap(), Vec::<PathBuf>::new());
    let document = root.join(xtask::openapi::PATH);
    let text = std::fs::read_to_string(&document).unwrap();
    std::fs::write(&document, text.replacen("3.1.0", "3.0.3", 1)).unwrap();
    assert_eq!(
        xtask::stale_files(&root).unwrap(),
        vec![PathBuf::from(xtask::openapi::PATH)]
    );
    std::fs::remove_dir_all(&root).unwrap();
}
