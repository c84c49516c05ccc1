//! Command-line surface: one subcommand per file under `cli/`.

mod autoscaler;
mod crds;
mod envoy_bootstrap;
mod up;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "fnmesh",
    version,
    about = "A serverless platform that speaks the Knative Serving API"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run fnmesh on this machine: the embedded API server and every component.
    Up(up::UpArgs),
    /// The autoscaler's tools: `simulate` replays a trace through the KPA.
    Autoscaler(autoscaler::AutoscalerArgs),
    /// Print the serving.knative.dev CustomResourceDefinitions as YAML.
    Crds,
    /// Print a bootstrap with which a stock Envoy serves fnmesh's routes over xDS.
    EnvoyBootstrap(envoy_bootstrap::EnvoyBootstrapArgs),
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Autoscaler(args) => autoscaler::run(args),
        Command::EnvoyBootstrap(args) => {
            envoy_bootstrap::run(&args);
            Ok(())
        }
        Command::Crds => {
            crds::run();
            Ok(())
        }
    }
}
