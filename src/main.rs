//! The `mcc-bench` binary: parse the command line, set up logging to stderr,
//! dispatch. Logs never go to stdout, which carries results (and, for the MCP
//! server, the protocol).

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: SQL over the results history
/// allocates heavily per file, and with glibc's allocator a query over 1,000
/// runs took 188 ms instead of 120–160 (`docs/benchmarks.md`; the benches use
/// this allocator too).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = mcc_bench::cli::Cli::parse();
    // Colour codes only for a person at a terminal: a runner's stderr is
    // its log file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| cli.log_level().into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
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
