//! `fnmesh autoscaler`: with no subcommand the autoscaler itself (see `autoscaler_run`);
//! `fnmesh autoscaler simulate` replays a recorded trace through the same KPA core the
//! autoscaler runs, so a user can see what a config would have decided.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AutoscalerArgs {
    #[command(subcommand)]
    command: Option<AutoscalerCommand>,
    #[command(flatten)]
    run: super::autoscaler_run::AutoscalerRunArgs,
}

#[derive(Debug, Subcommand)]
enum AutoscalerCommand {
    /// Print the KPA's decision at every 2 s tick of a recorded trace (CSV
    /// `second,concurrency,ready_pods` in; `second,desired_pods,excess_burst_capacity,panic`
    /// out).
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
struct SimulateArgs {
    /// The trace: CSV with the header `second,concurrency,ready_pods`, seconds from 0.
    #[arg(long)]
    trace: PathBuf,
    /// A `config-autoscaler` key, e.g. `stable-window=6s` (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = key_value)]
    config: Vec<(String, String)>,
    /// A revision annotation, with or without the `autoscaling.knative.dev/` prefix, e.g.
    /// `target=10`; `containerConcurrency=N` sets the revision's cc (repeatable).
    #[arg(long = "annotation", value_name = "KEY=VALUE", value_parser = key_value)]
    annotations: Vec<(String, String)>,
}

fn key_value(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {pair:?}"))
}

pub(crate) fn run(args: AutoscalerArgs) -> anyhow::Result<()> {
    match args.command {
        None => super::component::block_on(super::autoscaler_run::run(args.run)),
        Some(AutoscalerCommand::Simulate(args)) => {
            let trace = std::fs::read_to_string(&args.trace)
                .with_context(|| format!("reading {}", args.trace.display()))?;
            let decisions = autoscaler::simulate(&trace, &args.config, &args.annotations)
                .with_context(|| format!("simulating {}", args.trace.display()))?;
            print!("{decisions}");
            Ok(())
        }
    }
}
