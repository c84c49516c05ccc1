//! Reading one `config-autoscaler` value in Go syntax, keeping signed values
//! so that validation, not parsing, reports "must be at least 0".

use std::collections::BTreeMap;
use std::fmt::Display;
use std::time::Duration;

use super::ConfigError;
use crate::go_duration::{GoNanos, parse_go_duration};
use crate::go_value::{parse_go_bool, parse_go_finite_f64, parse_go_i32};

/// The ConfigMap data, read one typed key at a time.
pub(super) struct Raw<'a> {
    pub(super) data: &'a BTreeMap<String, String>,
}

impl Raw<'_> {
    pub(super) fn get(&self, key: &'static str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    pub(super) fn parse<T>(
        &self,
        key: &'static str,
        default: T,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        let Some(value) = self.get(key) else {
            return Ok(default);
        };
        parse(value).ok_or_else(|| ConfigError::Unparsable {
            key,
            value: value.to_owned(),
            expected,
        })
    }

    pub(super) fn float(&self, key: &'static str, default: f64) -> Result<f64, ConfigError> {
        self.parse(key, default, "a finite number", parse_go_finite_f64)
    }

    pub(super) fn int(&self, key: &'static str, default: u32) -> Result<i32, ConfigError> {
        let default = i32::try_from(default).unwrap_or(i32::MAX);
        self.parse(key, default, "a 32-bit integer", parse_go_i32)
    }

    pub(super) fn duration(
        &self,
        key: &'static str,
        default: Duration,
    ) -> Result<GoNanos, ConfigError> {
        let default = i64::try_from(default.as_nanos()).unwrap_or(i64::MAX);
        self.parse(
            key,
            default,
            "a duration (e.g. 30s, 1m30s)",
            parse_go_duration,
        )
    }

    pub(super) fn bool(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.parse(key, default, "a boolean", parse_go_bool)
    }

    /// The error for `key`, quoting the value as written (or the default).
    pub(super) fn invalid(
        &self,
        key: &'static str,
        rule: impl Into<String>,
        fallback: impl Display,
    ) -> ConfigError {
        ConfigError::Invalid {
            key,
            rule: rule.into(),
            value: self
                .get(key)
                .map_or_else(|| fallback.to_string(), str::to_owned),
        }
    }
}
