//! What an election is about (which Lease, who is asking) and its timing, with
//! client-go's defaults and its rules for timings that make sense together.

use std::time::Duration;

/// client-go's `LeaseDuration` default: how long others wait after last seeing the
/// Lease change before they may take it.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// client-go's `RenewDeadline` default: how long a leader keeps acting without a
/// successful renewal.
pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// client-go's `RetryPeriod` default: between renewals, and between attempts to acquire.
pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);
/// client-go's `JitterFactor`: a candidate's retries are spread over
/// `[retry, retry × (1 + JITTER))` so candidates do not move in lockstep.
pub const JITTER: f64 = 1.2;

/// One candidate in the election for one Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionConfig {
    /// The Lease's namespace (fnmesh's components use `knative-serving`).
    pub namespace: String,
    /// The Lease's name, one per component (`fnmesh-controller`, `fnmesh-autoscaler`).
    pub name: String,
    /// This candidate's `holderIdentity`: unique among the replicas.
    pub identity: String,
    /// Written as the Lease's `leaseDurationSeconds`, so whole seconds.
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// Timings that would let two replicas lead at once, or a name the API would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{field}: must not be empty")]
    Empty { field: &'static str },
    #[error(
        "leaseDuration: must be a whole number of seconds, at least 1 (it is the Lease's leaseDurationSeconds), got {0:?}"
    )]
    LeaseDurationNotWholeSeconds(Duration),
    #[error(
        "leaseDuration ({lease:?}) must be greater than renewDeadline ({renew:?}): a leader must stop before its lease can expire for others"
    )]
    RenewDeadlineNotShorter { lease: Duration, renew: Duration },
    #[error(
        "renewDeadline ({renew:?}) must be greater than {JITTER} × retryPeriod ({retry:?}), or a leader would give up before its first retry"
    )]
    RetryPeriodTooLong { renew: Duration, retry: Duration },
    #[error("retryPeriod: must be greater than zero")]
    ZeroRetryPeriod,
}

impl ElectionConfig {
    /// A candidate with client-go's default timings (15 s, 10 s, 2 s).
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_deadline: DEFAULT_RENEW_DEADLINE,
            retry_period: DEFAULT_RETRY_PERIOD,
        }
    }

    /// client-go's `NewLeaderElector` checks, plus what the Lease's fields need.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, value) in [
            ("namespace", &self.namespace),
            ("name", &self.name),
            ("identity", &self.identity),
        ] {
            if value.is_empty() {
                return Err(ConfigError::Empty { field });
            }
        }
        let lease = self.lease_duration;
        if lease.subsec_nanos() != 0 || lease.as_secs() == 0 || lease_seconds(lease).is_none() {
            return Err(ConfigError::LeaseDurationNotWholeSeconds(lease));
        }
        if self.retry_period.is_zero() {
            return Err(ConfigError::ZeroRetryPeriod);
        }
        if lease <= self.renew_deadline {
            return Err(ConfigError::RenewDeadlineNotShorter {
                lease,
                renew: self.renew_deadline,
            });
        }
        if self.renew_deadline.as_secs_f64() <= JITTER * self.retry_period.as_secs_f64() {
            return Err(ConfigError::RetryPeriodTooLong {
                renew: self.renew_deadline,
                retry: self.retry_period,
            });
        }
        Ok(())
    }

    /// The Lease's `leaseDurationSeconds` (valid once [`Self::validate`] passed).
    pub(crate) fn lease_duration_seconds(&self) -> i32 {
        lease_seconds(self.lease_duration).unwrap_or(i32::MAX)
    }
}

fn lease_seconds(duration: Duration) -> Option<i32> {
    i32::try_from(duration.as_secs()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ElectionConfig {
        ElectionConfig::new("knative-serving", "fnmesh-controller", "a")
    }

    #[test]
    fn client_go_defaults_are_valid() {
        let c = config();
        assert_eq!(
            (c.lease_duration, c.renew_deadline, c.retry_period),
            (
                Duration::from_secs(15),
                Duration::from_secs(10),
                Duration::from_secs(2)
            )
        );
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.lease_duration_seconds(), 15);
    }

    #[test]
    fn a_renew_deadline_as_long_as_the_lease_is_refused() {
        let c = ElectionConfig {
            renew_deadline: Duration::from_secs(15),
            ..config()
        };
        let err = c.validate().unwrap_err();
        assert!(matches!(err, ConfigError::RenewDeadlineNotShorter { .. }));
        assert!(err.to_string().contains("renewDeadline"), "{err}");
    }

    #[test]
    fn timings_that_do_not_fit_are_refused() {
        let cases = [
            ElectionConfig {
                retry_period: Duration::from_secs(9),
                ..config()
            },
            ElectionConfig {
                retry_period: Duration::ZERO,
                ..config()
            },
            ElectionConfig {
                lease_duration: Duration::from_millis(15_500),
                ..config()
            },
            ElectionConfig {
                identity: String::new(),
                ..config()
            },
        ];
        for c in cases {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
