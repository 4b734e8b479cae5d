//! The `vecsearch` binary: run the CLI, map the outcome to grep's exit codes
//! (0 hits, 1 no hits, 2 error) and print any error on one line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic is a bug, but the user still gets one line and exit 2.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        eprintln!(
            "vecsearch: internal error: {} (please report this)",
            msg.replace('\n', " ")
        );
    }));
    match std::panic::catch_unwind(cli::run) {
        Ok(Ok(cli::Outcome::Hits)) => ExitCode::SUCCESS,
        Ok(Ok(cli::Outcome::NoHits)) => ExitCode::from(1),
        Ok(Err(e)) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("vecsearch: error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
