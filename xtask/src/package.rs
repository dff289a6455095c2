//! `cargo xtask package-check`: package every crate as `cargo publish` would, then build the
//! facade's examples from its package, with the other packages standing in for crates.io. It
//! catches an example that reaches outside its crate (`#[path = "../../..."]`) or a
//! dev-dependency that the published manifest drops.

use std::error::Error;
use std::path::Path;
use std::process::Command;

/// The crates whose examples must build from their package.
const CHECKED: &[&str] = &["spoki"];

pub fn check(root: &Path) -> Result<(), Box<dyn Error>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(&cargo).current_dir(root).args([
        "package",
        "--workspace",
        "--no-verify",
        "--allow-dirty",
        "--quiet",
    ]))?;
    let packages = root.join("target/package");
    let unpacked = root.join("target/package-check");
    if unpacked.exists() {
        std::fs::remove_dir_all(&unpacked)?;
    }
    std::fs::create_dir_all(&unpacked)?;
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(&packages)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(stem) = name.strip_suffix(".crate") {
            run(Command::new("tar")
                .arg("xzf")
                .arg(&path)
                .arg("-C")
                .arg(&unpacked))?;
            crates.push(stem.to_owned());
        }
    }
    // Each package `name-version` stands in for `name` on crates.io.
    let mut patch = String::from("[patch.crates-io]\n");
    for stem in &crates {
        if let Some((name, _)) = stem.rsplit_once('-') {
            patch.push_str(&format!("{name} = {{ path = \"../{stem}\" }}\n"));
        }
    }
    for name in CHECKED {
        let stem = crates
            .iter()
            .find(|s| s.rsplit_once('-').is_some_and(|(n, _)| n == *name))
            .ok_or_else(|| format!("no package of {name}"))?;
        let dir = unpacked.join(stem);
        std::fs::create_dir_all(dir.join(".cargo"))?;
        std::fs::write(dir.join(".cargo/config.toml"), &patch)?;
        // Unpacked under target/, it would otherwise belong to this workspace.
        let manifest = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)?;
        std::fs::write(&manifest, format!("{text}\n[workspace]\n"))?;
        run(Command::new(&cargo)
            .current_dir(&dir)
            .args(["build", "--examples", "--quiet", "--target-dir"])
            .arg(unpacked.join("target")))?;
        println!("{stem}: examples build from the package");
    }
    Ok(())
}

fn run(command: &mut Command) -> Result<(), Box<dyn Error>> {
    let status = command.status()?;
    if !status.success() {
        return Err(format!("{command:?} failed: {status}").into());
    }
    Ok(())
}
