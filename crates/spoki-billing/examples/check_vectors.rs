//! Checks a billing-vectors file against the model.
//!
//! Usage: `cargo run -p spoki-billing --example check_vectors -- VECTORS.json`
//!
//! Prints `PASS <id>` or `FAIL <id>: <what differs>` per scenario, then `N passed, M failed`;
//! exits 1 if any scenario fails, 2 if the file cannot be read or parsed.

use std::process::ExitCode;

use spoki_billing::vectors::check_file;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: check_vectors VECTORS.json");
        return ExitCode::from(2);
    };
    let json = match std::fs::read_to_string(path) {
        Ok(json) => json,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match check_file(&json) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("{path} is not a vectors file: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{report}");
    if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
