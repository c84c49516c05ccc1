//! The webhook's rules for each autoscaling annotation, in Knative's order
//! (`pkg/apis/autoscaling/annotation_validation.go`); each returns the
//! parsed value so resolution never re-parses.

use super::{AnnotationError, ScalingMetric};
use crate::annotations::{self as key, Found};
use crate::config::{AutoscalerConfig, KPA_CLASS, WINDOW_MAX_NANOS};
use crate::go_duration::{GoNanos, is_whole_seconds, parse_go_duration};
use crate::go_value::{parse_go_finite_f64, parse_go_i32, parse_go_i64};

pub(super) fn validate_class(
    config: &AutoscalerConfig,
    class: Option<Found<'_>>,
) -> Result<(), AnnotationError> {
    let value = class.map_or(config.pod_autoscaler_class.as_str(), |f| f.value);
    if value == KPA_CLASS {
        return Ok(());
    }
    Err(AnnotationError::Invalid {
        key: class.map_or_else(|| key::CLASS.canonical(), |f| f.key.to_owned()),
        rule: format!("only the KPA ({KPA_CLASS}) is implemented"),
        value: value.to_owned(),
    })
}

/// Knative's `getIntGE0`: an int32 that is not negative.
fn int_ge0(found: Option<Found<'_>>) -> Result<Option<u32>, AnnotationError> {
    let Some(f) = found else { return Ok(None) };
    let v =
        parse_go_i32(f.value).ok_or_else(|| AnnotationError::unparsable(f, "a 32-bit integer"))?;
    u32::try_from(v)
        .map(Some)
        .map_err(|_| AnnotationError::invalid(f, "must be at least 0"))
}

pub(super) fn validate_bounds(
    config: &AutoscalerConfig,
    min: Option<Found<'_>>,
    max: Option<Found<'_>>,
) -> Result<(Option<u32>, Option<u32>), AnnotationError> {
    let min_v = int_ge0(min)?;
    let max_v = int_ge0(max)?;
    let (lo, hi) = (min_v.unwrap_or(0), max_v.unwrap_or(0));
    if let Some(f) = max {
        if hi != 0 && hi < lo {
            return Err(AnnotationError::invalid(
                f,
                format!("must not be less than min-scale ({lo})"),
            ));
        }
        let limit = config.max_scale_limit;
        if limit > 0 && (hi == 0 || hi > limit) {
            let rule = format!("must be in [1, {limit}] (config-autoscaler max-scale-limit)");
            return Err(AnnotationError::invalid(f, rule));
        }
    }
    Ok((min_v, max_v))
}

/// Knative compares against the annotations only (0 when absent), not the
/// config defaults.
pub(super) fn validate_activation(
    found: Option<Found<'_>>,
    min: Option<u32>,
    max: Option<u32>,
) -> Result<Option<u32>, AnnotationError> {
    let Some(f) = found else { return Ok(None) };
    let v =
        parse_go_i32(f.value).ok_or_else(|| AnnotationError::unparsable(f, "a 32-bit integer"))?;
    let (lo, hi) = (i64::from(min.unwrap_or(0)), i64::from(max.unwrap_or(0)));
    let v64 = i64::from(v);
    if lo > v64 {
        return Err(AnnotationError::invalid(
            f,
            format!("must not be less than min-scale ({lo})"),
        ));
    }
    if hi != 0 && hi < v64 {
        return Err(AnnotationError::invalid(
            f,
            format!("must not exceed max-scale ({hi})"),
        ));
    }
    match u32::try_from(v) {
        Ok(v) if v >= 2 => Ok(Some(v)),
        _ => Err(AnnotationError::invalid(f, "must be at least 2")),
    }
}

pub(super) fn float_in(
    found: Option<Found<'_>>,
    lo: f64,
    hi: f64,
) -> Result<Option<f64>, AnnotationError> {
    let Some(f) = found else { return Ok(None) };
    let v = parse_go_finite_f64(f.value)
        .ok_or_else(|| AnnotationError::unparsable(f, "a finite number"))?;
    if v < lo {
        return Err(AnnotationError::invalid(
            f,
            if hi == f64::MAX {
                format!("must be at least {lo}")
            } else {
                format!("must be between {lo} and {hi}")
            },
        ));
    }
    if v > hi {
        return Err(AnnotationError::invalid(
            f,
            format!("must be between {lo} and {hi}"),
        ));
    }
    Ok(Some(v))
}

pub(super) fn validate_tbc(found: Option<Found<'_>>) -> Result<Option<f64>, AnnotationError> {
    let Some(f) = found else { return Ok(None) };
    let v = parse_go_finite_f64(f.value)
        .ok_or_else(|| AnnotationError::unparsable(f, "a finite number"))?;
    if v < 0.0 && v != -1.0 {
        return Err(AnnotationError::invalid(
            f,
            "must be at least 0, or -1 for unlimited",
        ));
    }
    Ok(Some(v))
}

pub(super) fn duration_in(
    found: Option<Found<'_>>,
    lo: GoNanos,
    range: &'static str,
    whole_seconds: bool,
) -> Result<Option<GoNanos>, AnnotationError> {
    let Some(f) = found else { return Ok(None) };
    let d = parse_go_duration(f.value)
        .ok_or_else(|| AnnotationError::unparsable(f, "a duration (e.g. 30s, 1m30s)"))?;
    if !(lo..=WINDOW_MAX_NANOS).contains(&d) {
        return Err(AnnotationError::invalid(f, format!("must be {range}")));
    }
    if whole_seconds && !is_whole_seconds(d) {
        return Err(AnnotationError::invalid(f, "must be whole seconds"));
    }
    Ok(Some(d))
}

pub(super) fn validate_metric(found: Option<Found<'_>>) -> Result<ScalingMetric, AnnotationError> {
    match found.map(|f| (f, f.value)) {
        None | Some((_, "concurrency")) => Ok(ScalingMetric::Concurrency),
        Some((_, "rps")) => Ok(ScalingMetric::Rps),
        Some((f, _)) => Err(AnnotationError::invalid(
            f,
            "must be concurrency or rps for the KPA",
        )),
    }
}

/// Only Knative's default linear averaging is implemented.
pub(super) fn validate_algorithm(found: Option<Found<'_>>) -> Result<(), AnnotationError> {
    match found {
        None => Ok(()),
        Some(f) if f.value.is_empty() || f.value == "linear" => Ok(()),
        Some(f) => Err(AnnotationError::invalid(f, "only linear is implemented")),
    }
}

pub(super) fn validate_initial_scale(
    config: &AutoscalerConfig,
    found: Option<Found<'_>>,
) -> Result<Option<u32>, AnnotationError> {
    let Some(f) = found else { return Ok(None) };
    let v = parse_go_i64(f.value).ok_or_else(|| AnnotationError::unparsable(f, "an integer"))?;
    if v < 0 {
        return Err(AnnotationError::invalid(f, "must be at least 0"));
    }
    if v == 0 && !config.allow_zero_initial_scale {
        return Err(AnnotationError::invalid(
            f,
            "0 is not allowed unless allow-zero-initial-scale is true",
        ));
    }
    // Knative's webhook takes any int but the reconciler then reads an int32,
    // silently falling back to the default; refusing is clearer.
    u32::try_from(v)
        .ok()
        .filter(|&v| i32::try_from(v).is_ok())
        .map(Some)
        .ok_or_else(|| AnnotationError::invalid(f, "must fit in a 32-bit integer"))
}
