//! Command-line surface: one subcommand per file under `cli/`.

mod activator;
mod apiserver;
mod autoscaler;
mod autoscaler_run;
mod component;
mod controller;
mod crds;
mod election;
mod envoy_bootstrap;
mod event_ttl;
mod gateway;
mod head_timeout;
mod queue_depth;
mod runner;
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
    /// The embedded Kubernetes-compatible API server alone; writes DIR/kubeconfig.
    Apiserver(apiserver::ApiServerArgs),
    /// The controller alone: the reconcilers and the xDS server.
    Controller(controller::ControllerArgs),
    /// The autoscaler alone; `fnmesh autoscaler simulate` replays a trace through the KPA.
    Autoscaler(autoscaler::AutoscalerArgs),
    /// The activator alone: holds requests for revisions without a ready replica.
    Activator(activator::ActivatorArgs),
    /// The gateway alone: the HTTP ingress, configured over xDS.
    Gateway(gateway::GatewayArgs),
    /// The process runner alone: runs Deployments' replicas as local processes
    /// (single-node mode's kubelet).
    Runner(runner::RunnerArgs),
    /// Print the serving.knative.dev CustomResourceDefinitions as YAML.
    Crds,
    /// Print a bootstrap with which a stock Envoy serves fnmesh's routes over xDS.
    EnvoyBootstrap(envoy_bootstrap::EnvoyBootstrapArgs),
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Apiserver(args) => apiserver::run(args),
        Command::Controller(args) => controller::run(args),
        Command::Autoscaler(args) => autoscaler::run(args),
        Command::Activator(args) => activator::run(args),
        Command::Gateway(args) => gateway::run(args),
        Command::Runner(args) => runner::run(args),
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
