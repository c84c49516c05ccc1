//! `config-defaults` in `knative-serving`: the cluster's defaults and limits for
//! revisions, with Knative's keys. Knative's webhook reads them from its context while
//! it defaults and validates an object; here admission makes them current for the
//! duration of one [`crate::admit`] call with [`ClusterDefaults::scoped`], and the
//! defaulting and validation code reads [`ClusterDefaults::current`]. Outside a scope
//! the stock values apply.

use std::cell::Cell;
use std::collections::BTreeMap;

use crate::error::FieldError;

/// Where the defaults live.
pub const CONFIG_DEFAULTS_NAME: &str = "config-defaults";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterDefaults {
    /// `revision-timeout-seconds`.
    pub revision_timeout_seconds: i64,
    /// `max-revision-timeout-seconds`.
    pub max_revision_timeout_seconds: i64,
    /// `revision-response-start-timeout-seconds`; unset: the revision timeout default.
    pub revision_response_start_timeout_seconds: Option<i64>,
    /// `revision-idle-timeout-seconds`; 0: no idle limit.
    pub revision_idle_timeout_seconds: i64,
    /// `container-concurrency`.
    pub container_concurrency: i64,
    /// `container-concurrency-max-limit`.
    pub container_concurrency_max_limit: i64,
}

impl Default for ClusterDefaults {
    fn default() -> Self {
        Self {
            revision_timeout_seconds: 300,
            max_revision_timeout_seconds: 600,
            revision_response_start_timeout_seconds: None,
            revision_idle_timeout_seconds: 0,
            container_concurrency: 0,
            container_concurrency_max_limit: 1000,
        }
    }
}

thread_local! {
    static CURRENT: Cell<Option<ClusterDefaults>> = const { Cell::new(None) };
}

impl ClusterDefaults {
    /// Reads `config-defaults` data over the stock values; the first bad value is an
    /// error naming its key (as Knative's ConfigMap webhook refuses it).
    pub fn from_config_map_data(data: &BTreeMap<String, String>) -> Result<Self, FieldError> {
        let mut d = Self::default();
        let int = |key: &str| -> Result<Option<i64>, FieldError> {
            data.get(key)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        FieldError::new(
                            format!("data.{key}"),
                            format!("invalid value {v:?}: must be an integer"),
                        )
                    })
                })
                .transpose()
        };
        if let Some(v) = int("revision-timeout-seconds")? {
            d.revision_timeout_seconds = v;
        }
        if let Some(v) = int("max-revision-timeout-seconds")? {
            d.max_revision_timeout_seconds = v;
        }
        d.revision_response_start_timeout_seconds = int("revision-response-start-timeout-seconds")?;
        if let Some(v) = int("revision-idle-timeout-seconds")? {
            d.revision_idle_timeout_seconds = v;
        }
        if let Some(v) = int("container-concurrency")? {
            d.container_concurrency = v;
        }
        if let Some(v) = int("container-concurrency-max-limit")? {
            d.container_concurrency_max_limit = v;
        }
        d.validate()?;
        Ok(d)
    }

    /// Knative's `NewDefaultsConfigFromMap` checks.
    fn validate(&self) -> Result<(), FieldError> {
        let refuse = |key: &str, rule: String| Err(FieldError::new(format!("data.{key}"), rule));
        if self.revision_timeout_seconds <= 0 {
            return refuse(
                "revision-timeout-seconds",
                format!("{} must be greater than 0", self.revision_timeout_seconds),
            );
        }
        if self.max_revision_timeout_seconds < self.revision_timeout_seconds {
            return refuse(
                "max-revision-timeout-seconds",
                format!(
                    "{} must not be less than revision-timeout-seconds ({})",
                    self.max_revision_timeout_seconds, self.revision_timeout_seconds
                ),
            );
        }
        if let Some(start) = self.revision_response_start_timeout_seconds
            && !(0..=self.revision_timeout_seconds).contains(&start)
        {
            return refuse(
                "revision-response-start-timeout-seconds",
                format!(
                    "{start} must be between 0 and revision-timeout-seconds ({})",
                    self.revision_timeout_seconds
                ),
            );
        }
        if !(0..=self.revision_timeout_seconds).contains(&self.revision_idle_timeout_seconds) {
            return refuse(
                "revision-idle-timeout-seconds",
                format!(
                    "{} must be between 0 and revision-timeout-seconds ({})",
                    self.revision_idle_timeout_seconds, self.revision_timeout_seconds
                ),
            );
        }
        if self.container_concurrency_max_limit < 1 {
            return refuse(
                "container-concurrency-max-limit",
                "must be at least 1".to_owned(),
            );
        }
        if !(0..=self.container_concurrency_max_limit).contains(&self.container_concurrency) {
            return refuse(
                "container-concurrency",
                format!(
                    "{} must be between 0 and container-concurrency-max-limit ({})",
                    self.container_concurrency, self.container_concurrency_max_limit
                ),
            );
        }
        Ok(())
    }

    /// The defaults in force on this thread: the innermost [`Self::scoped`] call's, or
    /// the stock ones.
    pub fn current() -> Self {
        CURRENT.with(Cell::get).unwrap_or_default()
    }

    /// Runs `f` with `self` as [`Self::current`], restoring the previous value after.
    pub fn scoped<R>(self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<ClusterDefaults>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(CURRENT.with(|c| c.replace(Some(self))));
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ClusterDefaults, FieldError> {
        ClusterDefaults::from_config_map_data(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        )
    }

    #[test]
    fn stock_values_and_overrides() {
        assert_eq!(parse(&[]).unwrap(), ClusterDefaults::default());
        let d = parse(&[
            ("revision-timeout-seconds", "20"),
            ("container-concurrency", "4"),
        ])
        .unwrap();
        assert_eq!(
            (d.revision_timeout_seconds, d.container_concurrency),
            (20, 4)
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = parse(&[("revision-timeout-seconds", "soon")]).unwrap_err();
        assert_eq!(e.field, "data.revision-timeout-seconds");
        let e = parse(&[("max-revision-timeout-seconds", "100")]).unwrap_err();
        assert_eq!(e.field, "data.max-revision-timeout-seconds");
        let e = parse(&[("container-concurrency", "2000")]).unwrap_err();
        assert_eq!(e.field, "data.container-concurrency");
    }

    #[test]
    fn scoped_defaults_apply_inside_and_are_restored_after() {
        let custom = ClusterDefaults {
            revision_timeout_seconds: 42,
            ..ClusterDefaults::default()
        };
        assert_eq!(ClusterDefaults::current(), ClusterDefaults::default());
        let inside = custom.scoped(ClusterDefaults::current);
        assert_eq!(inside.revision_timeout_seconds, 42);
        assert_eq!(ClusterDefaults::current(), ClusterDefaults::default());
    }
}
