//! `taishan`: the command line ([`cmd`]) and the composition of every part into one
//! process ([`up`]).

mod cmd;
mod up;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Ingest decodes and frees millions of small label strings per second; mimalloc's
/// thread-local free lists took malloc/free from a quarter of ingest CPU under glibc to a
/// few percent (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    // The server logs its life; one-shot commands only their troubles.
    let default_level = if cli.command.serves() { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    cli.command.run()
}
