//! Entry point: parse arguments, run, map the outcome to an exit code. Nothing else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sprawl::cli::Cli::parse();
    match sprawl::app::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // One line, never a backtrace: `{:#}` joins the context chain with ": ".
            eprintln!("sprawl: {err:#}");
            ExitCode::from(sprawl::app::EXIT_ERROR)
        }
    }
}
