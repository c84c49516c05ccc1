//! The deterministic core of Knative's KPA autoscaler, decision for decision:
//! per-second metric buckets and their window averages, the
//! `config-autoscaler` ConfigMap, per-revision `autoscaling.knative.dev/*`
//! annotations, and the decider that turns averages and ready pods into a
//! recommended scale, panic mode and excess burst capacity every 2 s tick.
//!
//! Pure: samples and times in, decisions out. No clock, no I/O, no async;
//! time is a [`std::time::Duration`] since a fixed epoch (the Unix epoch in
//! production, 0 in [`simulate`]). What this crate does *not* own: scraping
//! pods, the activator's reports, applying min/max-scale and scale to zero to
//! the `/scale` subresource, and the serve/proxy mode switch; those shells
//! wrap [`Kpa`].
//!
//! ```
//! use std::time::Duration;
//! use autoscaler::{AutoscalerConfig, DeciderSpec, Kpa, RevisionScaling};
//!
//! let config = AutoscalerConfig::default();
//! let scaling = RevisionScaling::resolve(&config, &Default::default(), 0).unwrap();
//! let mut kpa = Kpa::new(DeciderSpec::new(&scaling, true), 1, Duration::ZERO);
//! for s in 0..=2 {
//!     kpa.record(Duration::from_secs(s), 100.0);
//! }
//! let d = kpa.decide(Duration::from_secs(2), 1).unwrap();
//! assert_eq!(d.desired_pods, 2); // ceil(100 / 70)
//! ```

mod annotations;
mod buckets;
mod config;
mod go_duration;
mod go_value;
mod intake;
mod kpa;
mod revision_scaling;
mod run;
mod scale_down_delay;
mod scaler;
mod simulate;
mod trace;

pub use annotations::ANNOTATION_PREFIX;
pub use config::{AutoscalerConfig, CONFIG_KEYS, ConfigError, KPA_CLASS};
pub use kpa::{DeciderSpec, Decision, Kpa};
pub use revision_scaling::{AnnotationError, RevisionScaling, ScalingMetric};
pub use run::run;
pub use scaler::{Observed, Outcome, Scaler, ScalerBounds};
pub use simulate::{CONTAINER_CONCURRENCY_KEY, OUTPUT_HEADER, SimulateError, simulate};
pub use trace::{TraceError, TraceProblem};
