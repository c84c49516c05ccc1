//! The cluster-wide `config-autoscaler` ConfigMap: Knative's key names,
//! defaults, parsing (Go syntax) and validation rules, in Knative's order
//! (`pkg/autoscaler/config/config.go`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::go_duration::{GoNanos, is_whole_seconds, to_std};

mod raw;
use raw::Raw;

/// The KPA's class name, the default `pod-autoscaler-class`.
pub const KPA_CLASS: &str = "kpa.autoscaling.knative.dev";

/// The smallest per-pod target Knative allows (`autoscaling.TargetMin`).
pub(crate) const TARGET_MIN: f64 = 0.01;

/// Every key `config-autoscaler` reads. Others are ignored by
/// [`AutoscalerConfig::from_configmap_data`], as Knative ignores them.
pub const CONFIG_KEYS: [&str; 20] = [
    "pod-autoscaler-class",
    "enable-scale-to-zero",
    "allow-zero-initial-scale",
    "max-scale-up-rate",
    "max-scale-down-rate",
    "container-concurrency-target-percentage",
    "container-concurrency-target-default",
    "requests-per-second-target-default",
    "target-burst-capacity",
    "panic-window-percentage",
    "activator-capacity",
    "panic-threshold-percentage",
    "initial-scale",
    "min-scale",
    "max-scale",
    "max-scale-limit",
    "stable-window",
    "scale-down-delay",
    "scale-to-zero-grace-period",
    "scale-to-zero-pod-retention-period",
];

/// A `config-autoscaler` value that does not parse or breaks a rule. The
/// message always starts with the key: `stable-window: must be between 6s and 1h, got 2s`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: {value:?} is not {expected}")]
    Unparsable {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{key}: {rule}, got {value}")]
    Invalid {
        key: &'static str,
        rule: String,
        value: String,
    },
}

impl ConfigError {
    /// The ConfigMap key at fault.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Unparsable { key, .. } | Self::Invalid { key, .. } => key,
        }
    }
}

/// Cluster-wide autoscaling defaults and bounds. Percentages that Knative
/// stores as fractions are fractions here too (`0.7`, not `70`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AutoscalerConfig {
    pub pod_autoscaler_class: String,
    pub enable_scale_to_zero: bool,
    pub allow_zero_initial_scale: bool,
    pub max_scale_up_rate: f64,
    pub max_scale_down_rate: f64,
    /// `container-concurrency-target-percentage` as a fraction in (0, 1].
    pub container_concurrency_target_fraction: f64,
    pub container_concurrency_target_default: f64,
    /// Utilization for the rps metric: Knative fixes it at 0.7 with no
    /// ConfigMap key; only the annotation overrides it.
    pub target_utilization: f64,
    pub rps_target_default: f64,
    pub target_burst_capacity: f64,
    pub panic_window_percentage: f64,
    pub activator_capacity: f64,
    pub panic_threshold_percentage: f64,
    pub initial_scale: u32,
    pub min_scale: u32,
    /// 0 means unlimited.
    pub max_scale: u32,
    /// 0 means no limit on `max-scale`.
    pub max_scale_limit: u32,
    pub stable_window: Duration,
    pub scale_down_delay: Duration,
    pub scale_to_zero_grace_period: Duration,
    pub scale_to_zero_pod_retention_period: Duration,
}

impl Default for AutoscalerConfig {
    fn default() -> Self {
        Self {
            pod_autoscaler_class: KPA_CLASS.to_owned(),
            enable_scale_to_zero: true,
            allow_zero_initial_scale: false,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            container_concurrency_target_fraction: 0.7,
            container_concurrency_target_default: 100.0,
            target_utilization: 0.7,
            rps_target_default: 200.0,
            target_burst_capacity: 211.0,
            panic_window_percentage: 10.0,
            activator_capacity: 100.0,
            panic_threshold_percentage: 200.0,
            initial_scale: 1,
            min_scale: 0,
            max_scale: 0,
            max_scale_limit: 0,
            stable_window: Duration::from_secs(60),
            scale_down_delay: Duration::ZERO,
            scale_to_zero_grace_period: Duration::from_secs(30),
            scale_to_zero_pod_retention_period: Duration::ZERO,
        }
    }
}

// === impl AutoscalerConfig ===

impl AutoscalerConfig {
    /// Reads `config-autoscaler` data over the defaults. Unknown keys (such
    /// as `_example`) are ignored; the first bad value is the error.
    pub fn from_configmap_data(data: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let raw = Raw { data };
        let d = Self::default();
        // Parse everything first, in Knative's order, then validate.
        let class = raw
            .get("pod-autoscaler-class")
            .map_or(d.pod_autoscaler_class, str::to_owned);
        let enable_scale_to_zero = raw.bool("enable-scale-to-zero", d.enable_scale_to_zero)?;
        let allow_zero = raw.bool("allow-zero-initial-scale", d.allow_zero_initial_scale)?;
        let up = raw.float("max-scale-up-rate", d.max_scale_up_rate)?;
        let down = raw.float("max-scale-down-rate", d.max_scale_down_rate)?;
        let mut cc_fraction = raw.float("container-concurrency-target-percentage", 70.0)?;
        let cc_default = raw.float(
            "container-concurrency-target-default",
            d.container_concurrency_target_default,
        )?;
        let rps_default = raw.float("requests-per-second-target-default", d.rps_target_default)?;
        let tbc = raw.float("target-burst-capacity", d.target_burst_capacity)?;
        let panic_window_pct = raw.float("panic-window-percentage", d.panic_window_percentage)?;
        let activator_capacity = raw.float("activator-capacity", d.activator_capacity)?;
        let panic_threshold_pct =
            raw.float("panic-threshold-percentage", d.panic_threshold_percentage)?;
        let initial_scale = raw.int("initial-scale", d.initial_scale)?;
        let min_scale = raw.int("min-scale", d.min_scale)?;
        let max_scale = raw.int("max-scale", d.max_scale)?;
        let max_scale_limit = raw.int("max-scale-limit", d.max_scale_limit)?;
        let stable_window = raw.duration("stable-window", d.stable_window)?;
        let scale_down_delay = raw.duration("scale-down-delay", d.scale_down_delay)?;
        let grace = raw.duration("scale-to-zero-grace-period", d.scale_to_zero_grace_period)?;
        let retention = raw.duration(
            "scale-to-zero-pod-retention-period",
            d.scale_to_zero_pod_retention_period,
        )?;

        // For legacy reasons Knative reads values in (0, 1] as fractions.
        if cc_fraction > 1.0 {
            cc_fraction /= 100.0;
        }

        if grace <= 0 {
            return Err(raw.invalid("scale-to-zero-grace-period", "must be positive", "30s"));
        }
        if scale_down_delay < 0 {
            return Err(raw.invalid("scale-down-delay", "cannot be negative", "0s"));
        }
        if !is_whole_seconds(scale_down_delay) {
            return Err(raw.invalid("scale-down-delay", "must be whole seconds", "0s"));
        }
        if retention < 0 {
            return Err(raw.invalid(
                "scale-to-zero-pod-retention-period",
                "cannot be negative",
                "0s",
            ));
        }
        if tbc < 0.0 && tbc != -1.0 {
            return Err(raw.invalid(
                "target-burst-capacity",
                "must be at least 0, or -1 for unlimited",
                tbc,
            ));
        }
        if cc_fraction <= 0.0 || cc_fraction > 1.0 {
            return Err(raw.invalid(
                "container-concurrency-target-percentage",
                "must be in (0, 100]",
                70,
            ));
        }
        if cc_fraction * cc_default < TARGET_MIN {
            let rule = format!(
                "times container-concurrency-target-percentage ({cc_fraction}) must be at least {TARGET_MIN}"
            );
            return Err(raw.invalid("container-concurrency-target-default", rule, cc_default));
        }
        if rps_default < TARGET_MIN {
            let rule = format!("must be at least {TARGET_MIN}");
            return Err(raw.invalid("requests-per-second-target-default", rule, rps_default));
        }
        if activator_capacity < 1.0 {
            return Err(raw.invalid(
                "activator-capacity",
                "must be at least 1",
                activator_capacity,
            ));
        }
        if up <= 1.0 {
            return Err(raw.invalid("max-scale-up-rate", "must be greater than 1", up));
        }
        if down <= 1.0 {
            return Err(raw.invalid("max-scale-down-rate", "must be greater than 1", down));
        }
        if !(WINDOW_MIN_NANOS..=WINDOW_MAX_NANOS).contains(&stable_window) {
            return Err(raw.invalid("stable-window", "must be between 6s and 1h", "60s"));
        }
        if !is_whole_seconds(stable_window) {
            return Err(raw.invalid("stable-window", "must be whole seconds", "60s"));
        }
        if !(1.0..=100.0).contains(&panic_window_pct) {
            return Err(raw.invalid(
                "panic-window-percentage",
                "must be between 1 and 100",
                panic_window_pct,
            ));
        }
        if initial_scale < 0 || (initial_scale == 0 && !allow_zero) {
            let rule = "must be at least 1 (or 0 when allow-zero-initial-scale is true)";
            return Err(raw.invalid("initial-scale", rule, initial_scale));
        }
        if min_scale < 0 {
            return Err(raw.invalid("min-scale", "must be at least 0", min_scale));
        }
        // A limit requires an explicit, bounded default max-scale.
        let lowest_max = i32::from(max_scale_limit > 0);
        if max_scale < lowest_max || (max_scale_limit > 0 && max_scale > max_scale_limit) {
            let rule = format!("must be in [{lowest_max}, max-scale-limit ({max_scale_limit})]");
            return Err(raw.invalid("max-scale", rule, max_scale));
        }
        if max_scale_limit < 0 {
            return Err(raw.invalid("max-scale-limit", "must be at least 0", max_scale_limit));
        }
        if min_scale > max_scale && max_scale > 0 {
            let rule = format!("must not exceed max-scale ({max_scale})");
            return Err(raw.invalid("min-scale", rule, min_scale));
        }

        let unsigned = |v: i32| u32::try_from(v).unwrap_or(0);
        Ok(Self {
            pod_autoscaler_class: class,
            enable_scale_to_zero,
            allow_zero_initial_scale: allow_zero,
            max_scale_up_rate: up,
            max_scale_down_rate: down,
            container_concurrency_target_fraction: cc_fraction,
            container_concurrency_target_default: cc_default,
            target_utilization: d.target_utilization,
            rps_target_default: rps_default,
            target_burst_capacity: tbc,
            panic_window_percentage: panic_window_pct,
            activator_capacity,
            panic_threshold_percentage: panic_threshold_pct,
            initial_scale: unsigned(initial_scale),
            min_scale: unsigned(min_scale),
            max_scale: unsigned(max_scale),
            max_scale_limit: unsigned(max_scale_limit),
            stable_window: to_std(stable_window),
            scale_down_delay: to_std(scale_down_delay),
            scale_to_zero_grace_period: to_std(grace),
            scale_to_zero_pod_retention_period: to_std(retention),
        })
    }
}

/// Knative's `WindowMin` (6 s) and `WindowMax` (1 h) for the stable window.
pub(crate) const WINDOW_MIN_NANOS: GoNanos = 6_000_000_000;
pub(crate) const WINDOW_MAX_NANOS: GoNanos = 3_600_000_000_000;

#[cfg(test)]
mod tests;
