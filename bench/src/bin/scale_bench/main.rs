//! Scale-to-zero benchmarks (issue 8; BENCHMARKS.md, "Scale to zero"). Each mode but
//! `limit` starts its own `fnmesh up` (every address on 127.0.0.1:0, state in a temp
//! dir) and deploys Services whose container is `hello_fn` (this crate's smallest
//! function), started at zero with `initial-scale: "0"`.
//!
//! - `limit <hello_fn> [N]`: the platform-free bound. Spawn `hello_fn` with `PORT`,
//!   connect until it listens, send one request: spawn → response, N times.
//! - `cold <fnmesh> <hello_fn> [N] [services]`: one request through the ingress at a
//!   revision at zero (no replica, no process), send → full response, N times. Services
//!   take turns, so one can drain to zero (~14 s with the 6 s windows used here) while
//!   the others are measured.
//! - `burst <fnmesh> <hello_fn> [connections] [rounds]`: that many connections at once,
//!   one request each, at a revision at zero; latency, answers, fnmesh's peak RSS.
//! - `step <fnmesh> <hello_fn> [clients] [seconds] [rounds]`: from zero to that many
//!   clients sending back-to-back 50 ms requests, with Knative's default windows and
//!   targets; the revision's replicas against the KPA's desired count over time.
//! - `footprint <fnmesh> <hello_fn> [N] [zero|python] [concurrency] [idle seconds]`
//!   (issue 9): fnmesh's RSS and threads empty, at the peak of creating N Services
//!   that many at once, once all are Ready, and after idling; `zero` Services run
//!   `hello_fn` with `initial-scale: "0"` (no process), `python` ones
//!   `examples/hello.py` (run from the repository root).
//!
//! - `flood <fnmesh> <hello_fn> [requests] [queue depth] [in flight] [rate]` (issue 10): a
//!   flood at a revision that never becomes ready; fnmesh's peak RSS and another
//!   revision's latency before and during (see `flood.rs`).
//!
//! Build with `cargo build --release -p fnmesh -p fnmesh-bench` first.
#![allow(clippy::disallowed_types)] // wall-clock measurement against separate processes

mod burst;
mod cold;
mod flood;
mod footprint;
mod harness;
mod limit;
mod step;

use burst::burst;
use cold::cold;
use flood::flood;
use footprint::{Flavour, footprint};
use limit::limit;
use step::step;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use fnmesh_bench::percentile;

const USAGE: &str = "usage: scale-bench limit <hello_fn> [N]
       scale-bench cold <fnmesh> <hello_fn> [N] [services]
       scale-bench burst <fnmesh> <hello_fn> [connections] [rounds]
       scale-bench step <fnmesh> <hello_fn> [clients] [seconds] [rounds]
       scale-bench footprint <fnmesh> <hello_fn> [N] [zero|python] [concurrency] [idle seconds]
       scale-bench flood <fnmesh> <hello_fn> [requests] [queue depth] [in flight] [rate]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| -> anyhow::Result<usize> {
        args.get(i)
            .map_or(Ok(default), |s| s.parse().context(USAGE))
    };
    let path = |i: usize| -> anyhow::Result<PathBuf> {
        let p = args.get(i).context(USAGE)?;
        // The runner starts the function from its own working directory.
        std::fs::canonicalize(p).with_context(|| format!("{p} (build it first)"))
    };
    match args.first().map(String::as_str) {
        Some("limit") => limit(&path(1)?, num(2, 30)?),
        Some("cold") => cold(&path(1)?, &path(2)?, num(3, 30)?, num(4, 6)?).await,
        Some("burst") => burst(&path(1)?, &path(2)?, num(3, 1000)?, num(4, 3)?).await,
        Some("footprint") => {
            let flavour = Flavour::parse(args.get(4).map(String::as_str))?;
            let idle = Duration::from_secs(num(6, 20)? as u64);
            footprint(
                &path(1)?,
                &path(2)?,
                num(3, 1000)?,
                flavour,
                num(5, 100)?,
                idle,
            )
            .await
        }
        Some("flood") => {
            flood(
                &path(1)?,
                &path(2)?,
                num(3, 10_000)?,
                num(4, 10_000)?,
                num(5, 11_000)?,
                num(6, 0)?,
            )
            .await
        }
        Some("step") => step(&path(1)?, &path(2)?, num(3, 200)?, num(4, 30)?, num(5, 3)?).await,
        _ => bail!(USAGE),
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `p50 / p99 / max` of `samples` in ms.
pub(crate) fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})",
        ms(percentile(samples, 0.5)),
        ms(percentile(samples, 0.99)),
        ms(samples.last().copied().unwrap_or_default()),
        samples.len()
    )
}
