//! `cargo xtask`: the project's build tasks.
//!
//! - `cargo xtask codegen` regenerates the `@generated` files from `spec/spoki.toml`, the
//!   OpenAPI document included;
//! - `cargo xtask codegen --check` fails when a checked-in generated file is stale;
//! - `cargo xtask openapi` writes only the OpenAPI 3.1 document,
//!   `crates/spoki-mock/openapi.json` (`scripts/openapi-check.py` validates it);
//! - `cargo xtask spec list` prints `METHOD PATH operation_id`, one line per operation;
//! - `cargo xtask package-check` packages every crate and builds the facade's examples from
//!   its package.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["openapi"] => openapi(),
        ["spec", "list"] => spec_list(),
        ["package-check"] => xtask::package::check(&xtask::workspace_root()),
        _ => {
            eprintln!(
                "usage: cargo xtask codegen [--check] | cargo xtask openapi | cargo xtask spec list | cargo xtask package-check"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn codegen(check: bool) -> Result<(), Box<dyn std::error::Error>> {
    let root = xtask::workspace_root();
    if check {
        let stale = xtask::stale_files(&root)?;
        if stale.is_empty() {
            println!("generated code is up to date");
            return Ok(());
        }
        for path in &stale {
            eprintln!("stale: {}", path.display());
        }
        return Err("generated code differs from the spec: run `cargo xtask codegen`".into());
    }
    for (path, code) in xtask::generate(&root)? {
        write(&root, &path, &code)?;
    }
    Ok(())
}

fn openapi() -> Result<(), Box<dyn std::error::Error>> {
    let root = xtask::workspace_root();
    let spec = xtask::load_spec(&root)?;
    let (path, text) = xtask::openapi_file(&root, &spec)?;
    write(&root, &path, &text)
}

/// Writes a generated file when its contents changed, and says so.
fn write(
    root: &std::path::Path,
    path: &std::path::Path,
    code: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().expect("generated files live in a directory"))?;
    if std::fs::read_to_string(&full).ok().as_deref() != Some(code) {
        std::fs::write(&full, code)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn spec_list() -> Result<(), Box<dyn std::error::Error>> {
    let spec = xtask::load_spec(&xtask::workspace_root())?;
    for op in &spec.operations {
        println!("{} {} {}", op.method, op.path, op.id);
    }
    Ok(())
}
