//! The `postroom` command; everything it does lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    match postroom::cli::main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("postroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}
