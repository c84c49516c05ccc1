//! `config-gc` in `knative-serving`, with Knative's keys and defaults: how long a
//! revision no route references is kept, and how many such revisions a Configuration
//! keeps at least and at most. `disabled` (or `-1` for the counts) turns a rule off.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config_map::{ConfigMapConfig, ConfigMapSource, EXAMPLE_KEY};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcConfig {
    /// Keep a revision at least this long after its creation (`None`: rule off).
    pub retain_since_create_time: Option<Duration>,
    /// Keep a revision at least this long after it was last routed (`None`: rule off).
    pub retain_since_last_active_time: Option<Duration>,
    /// Never delete below this many non-active revisions per Configuration.
    pub min_non_active_revisions: usize,
    /// Delete the oldest non-active revisions beyond this many (`None`: no limit).
    pub max_non_active_revisions: Option<usize>,
}

impl Default for GcConfig {
    fn default() -> Self {
        Self {
            retain_since_create_time: Some(Duration::from_secs(48 * 3600)),
            retain_since_last_active_time: Some(Duration::from_secs(15 * 3600)),
            min_non_active_revisions: 20,
            max_non_active_revisions: Some(1000),
        }
    }
}

pub type GcSource = ConfigMapSource<GcConfig>;

impl ConfigMapConfig for GcConfig {
    const NAME: &'static str = "config-gc";
    type Error = String;

    fn from_data(data: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut config = Self::default();
        for (key, value) in data {
            let value = value.trim();
            match key.as_str() {
                "retain-since-create-time" => {
                    config.retain_since_create_time = duration(key, value)?;
                }
                "retain-since-last-active-time" => {
                    config.retain_since_last_active_time = duration(key, value)?;
                }
                "min-non-active-revisions" => {
                    config.min_non_active_revisions = count(key, value)?.unwrap_or(0);
                }
                "max-non-active-revisions" => config.max_non_active_revisions = count(key, value)?,
                k if k == EXAMPLE_KEY => {}
                _ => {}
            }
        }
        if let Some(max) = config.max_non_active_revisions
            && max < config.min_non_active_revisions
        {
            return Err(format!(
                "max-non-active-revisions ({max}) must not be less than min-non-active-revisions ({})",
                config.min_non_active_revisions
            ));
        }
        Ok(config)
    }
}

/// A Go-style duration in whole units Knative writes (`48h`, `15h`, `30m`, `10s`), or
/// `disabled`.
fn duration(key: &str, value: &str) -> Result<Option<Duration>, String> {
    if value.eq_ignore_ascii_case("disabled") {
        return Ok(None);
    }
    let refuse =
        || format!("{key}: invalid value {value:?}: must be a duration such as 48h, or disabled");
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(refuse)?;
    let (number, unit) = value.split_at(split);
    let n: u64 = number.parse().map_err(|_| refuse())?;
    let seconds = match unit {
        "h" => n * 3600,
        "m" => n * 60,
        "s" => n,
        _ => return Err(refuse()),
    };
    Ok(Some(Duration::from_secs(seconds)))
}

/// A count, or `disabled` / `-1`.
fn count(key: &str, value: &str) -> Result<Option<usize>, String> {
    if value.eq_ignore_ascii_case("disabled") || value == "-1" {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|_| {
        format!("{key}: invalid value {value:?}: must be a non-negative integer, or disabled")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<GcConfig, String> {
        GcConfig::from_data(
            &pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        )
    }

    #[test]
    fn defaults_are_knatives() {
        let c = parse(&[]).unwrap();
        assert_eq!(
            c.retain_since_create_time,
            Some(Duration::from_secs(172_800))
        );
        assert_eq!(
            c.retain_since_last_active_time,
            Some(Duration::from_secs(54_000))
        );
        assert_eq!(
            (c.min_non_active_revisions, c.max_non_active_revisions),
            (20, Some(1000))
        );
    }

    #[test]
    fn disabled_and_values() {
        let c = parse(&[
            ("retain-since-create-time", "disabled"),
            ("retain-since-last-active-time", "30s"),
            ("min-non-active-revisions", "0"),
            ("max-non-active-revisions", "disabled"),
        ])
        .unwrap();
        assert_eq!(c.retain_since_create_time, None);
        assert_eq!(
            c.retain_since_last_active_time,
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            (c.min_non_active_revisions, c.max_non_active_revisions),
            (0, None)
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = parse(&[("retain-since-create-time", "two days")]).unwrap_err();
        assert!(e.starts_with("retain-since-create-time:"), "{e}");
        let e = parse(&[("min-non-active-revisions", "-3")]).unwrap_err();
        assert!(e.starts_with("min-non-active-revisions:"), "{e}");
        let e = parse(&[
            ("min-non-active-revisions", "5"),
            ("max-non-active-revisions", "2"),
        ])
        .unwrap_err();
        assert!(e.contains("max-non-active-revisions"), "{e}");
    }
}
