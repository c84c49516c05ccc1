//! Replays a recorded trace through the KPA decider, for
//! `fnmesh autoscaler simulate --trace FILE [--config K=V]... [--annotation K=V]...`.
//!
//! The contract:
//! - The trace is CSV with the header `second,concurrency,ready_pods`, seconds
//!   consecutive from 0. Row `i` is the revision-wide average of the scaling
//!   metric observed during second `i` (empty: no data that second) and the
//!   ready pods then. With `metric=rps` the column is read as requests/second.
//! - The decider is created at second 0 with row 0's ready pods, for a
//!   revision a route references. For each row in order, the sample becomes
//!   the bucket of that second; then, if the second is a positive multiple of
//!   2, the decider ticks at that second with that row's ready pods.
//! - The output is CSV with the header
//!   `second,desired_pods,excess_burst_capacity,panic`, one row per decision:
//!   [`Decision::desired_pods`] (before min/max/zero clamping), its excess
//!   burst capacity, and `0`/`1` for panic mode. A tick with no data in the
//!   whole stable window is no decision in Knative (an invalid scale result)
//!   and so writes no row.
//! - Config keys are `config-autoscaler` keys. Annotation keys may omit the
//!   `autoscaling.knative.dev/` prefix; `containerConcurrency=N` sets the
//!   revision's cc (0..=1000). A key given twice keeps the last value.
//! - A malformed trace (naming the line) or an unknown config or annotation
//!   key (naming the key) is an error, as is any value Knative would refuse.
//!
//! Knative also ticks at once when a request arrives while the desired scale
//! is 0 (the activator's "poke"); a trace has no requests, only averages, so
//! that is not replayed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::annotations::{ANNOTATION_PREFIX, is_known};
use crate::config::{AutoscalerConfig, CONFIG_KEYS, ConfigError};
use crate::kpa::{DeciderSpec, Decision, Kpa};
use crate::revision_scaling::{AnnotationError, RevisionScaling};
use crate::trace::{TraceError, parse_trace};

/// The pseudo-annotation for the revision's `containerConcurrency`.
pub const CONTAINER_CONCURRENCY_KEY: &str = "containerConcurrency";

/// Knative's default `container-concurrency-max-limit` (config-defaults).
const CONTAINER_CONCURRENCY_MAX: u32 = 1000;

/// The decider's tick.
const TICK_SECS: u64 = 2;

/// The output's header line.
pub const OUTPUT_HEADER: &str = "second,desired_pods,excess_burst_capacity,panic";

/// Why a simulation could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("unknown config-autoscaler key {0:?}")]
    UnknownConfigKey(String),
    #[error("unknown autoscaling annotation {0:?}")]
    UnknownAnnotation(String),
    #[error("{CONTAINER_CONCURRENCY_KEY}: must be an integer between 0 and 1000, got {0}")]
    ContainerConcurrency(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Annotation(#[from] AnnotationError),
}

/// Runs `trace_csv` through a decider configured by `config`
/// (`config-autoscaler` key/value pairs) and `annotations`, returning the
/// decisions as CSV (see the module docs for the exact contract).
pub fn simulate(
    trace_csv: &str,
    config: &[(String, String)],
    annotations: &[(String, String)],
) -> Result<String, SimulateError> {
    let config = parse_config(config)?;
    let (annotations, container_concurrency) = parse_annotations(annotations)?;
    let scaling = RevisionScaling::resolve(&config, &annotations, container_concurrency)?;
    let rows = parse_trace(trace_csv)?;

    let mut out = String::with_capacity(OUTPUT_HEADER.len() + 1 + rows.len() * 8);
    out.push_str(OUTPUT_HEADER);
    out.push('\n');
    let Some(first) = rows.first() else {
        return Ok(out);
    };
    let mut kpa = Kpa::new(
        DeciderSpec::new(&scaling, true),
        first.ready_pods,
        Duration::ZERO,
    );
    for row in &rows {
        let now = Duration::from_secs(row.second);
        if let Some(value) = row.concurrency {
            kpa.record(now, value);
        }
        if row.second > 0
            && row.second % TICK_SECS == 0
            && let Some(decision) = kpa.decide(now, row.ready_pods)
        {
            write_row(&mut out, row.second, &decision);
        }
    }
    Ok(out)
}

fn write_row(out: &mut String, second: u64, d: &Decision) {
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "{second},{},{},{}",
        d.desired_pods,
        d.excess_burst_capacity,
        u8::from(d.panic)
    );
}

fn parse_config(pairs: &[(String, String)]) -> Result<AutoscalerConfig, SimulateError> {
    let mut data = BTreeMap::new();
    for (key, value) in pairs {
        if !CONFIG_KEYS.contains(&key.as_str()) {
            return Err(SimulateError::UnknownConfigKey(key.clone()));
        }
        data.insert(key.clone(), value.clone());
    }
    Ok(AutoscalerConfig::from_configmap_data(&data)?)
}

fn parse_annotations(
    pairs: &[(String, String)],
) -> Result<(BTreeMap<String, String>, u32), SimulateError> {
    let mut annotations = BTreeMap::new();
    let mut container_concurrency = 0;
    for (key, value) in pairs {
        if key == CONTAINER_CONCURRENCY_KEY {
            container_concurrency = value
                .parse::<u32>()
                .ok()
                .filter(|&cc| cc <= CONTAINER_CONCURRENCY_MAX)
                .ok_or_else(|| SimulateError::ContainerConcurrency(value.clone()))?;
            continue;
        }
        let full = if key.starts_with(ANNOTATION_PREFIX) {
            key.clone()
        } else {
            format!("{ANNOTATION_PREFIX}{key}")
        };
        if !is_known(&full) {
            return Err(SimulateError::UnknownAnnotation(key.clone()));
        }
        annotations.insert(full, value.clone());
    }
    Ok((annotations, container_concurrency))
}

#[cfg(test)]
mod tests;
