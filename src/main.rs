//! The `vecsearch` binary: run the CLI, map the outcome to grep's exit codes
//! (0 hits, 1 no hits, 2 error) and print any error on one line. A panic
//! is a bug, not an error, and exits with its own code so that neither a
//! script nor a test can take it for a clean refusal.

mod cli;

use std::process::ExitCode;

/// Rust's own exit status for a panicking `main`, kept so that a panic
/// looks the same whether or not this hook ran.
const PANIC_EXIT: u8 = 101;

fn main() -> ExitCode {
    // One line, marked "internal error" (the tests reject that marker), so
    // a user can still paste it into a report.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "vecsearch: internal error (panic{at}): {} (please report this)",
            msg.replace('\n', " ")
        );
    }));
    match std::panic::catch_unwind(|| {
        // The tests' way to check what a panic looks like from outside.
        if std::env::var_os("VECSEARCH_PANIC_FOR_TEST").is_some() {
            panic!("panic requested by VECSEARCH_PANIC_FOR_TEST");
        }
        cli::run()
    }) {
        Ok(Ok(cli::Outcome::Hits)) => ExitCode::SUCCESS,
        Ok(Ok(cli::Outcome::NoHits)) => ExitCode::from(1),
        Ok(Err(e)) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("vecsearch: error: {}", one_line(&e));
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(PANIC_EXIT),
    }
}

/// The error and its causes on one line, each cause once: a library error
/// that already prints its source (`path: reason`) is not followed by the
/// same reason again.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = match cause.downcast_ref::<vecsearch::Error>() {
            Some(v) => cli::describe(v),
            None => cause.to_string(),
        };
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out.replace('\n', " ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
