//! The `mcc-bench` binary: parse the command line, set up logging to stderr,
//! dispatch. Logs never go to stdout, which carries results (and, for the MCP
//! server, the protocol).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mcc_bench::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match mcc_bench::cli::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let e = anyhow::Error::from(e);
            eprintln!("error: {e:#}");
            ExitCode::from(mcc_bench::cli::exit::ERROR)
        }
    }
}
