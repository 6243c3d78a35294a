//! Entry point: parse arguments, run, map the outcome to an exit code. Nothing else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sprawl::cli::Cli::parse();
    match sprawl::commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        // `sprawl rules list | head`: the reader closed the pipe, which is its choice.
        Err(err) if sprawl::commands::closed_by_reader(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, never a backtrace: `{:#}` joins the context chain with ": ".
            eprintln!("sprawl: {err:#}");
            ExitCode::from(sprawl::commands::EXIT_ERROR)
        }
    }
}
