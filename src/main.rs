//! `fnmesh`: `up` runs the whole platform in one process for single-node mode; the
//! other subcommands are the CLI.

mod cli;

use clap::Parser;

/// The gateway's request path allocates per request; mimalloc's thread-local free lists
/// make that markedly cheaper than glibc malloc. Without the `mimalloc` feature
/// (`--no-default-features`) the system allocator serves, for heap profilers.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fnmesh: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
