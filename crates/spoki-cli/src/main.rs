//! `spoki`: see the crate's documentation, or `spoki --help`.

fn main() -> std::process::ExitCode {
    spoki_cli::run(std::env::args_os())
}
