//! Why a Route's traffic cannot be assigned, with Knative's condition reasons and
//! messages (`RouteStatus.Mark*` in knative/serving).

/// A traffic target that does not resolve to a ready Revision.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    #[error("Configuration {0:?} referenced in traffic not found.")]
    ConfigurationMissing(String),
    #[error("Revision {0:?} referenced in traffic not found.")]
    RevisionMissing(String),
    #[error("Configuration {0:?} is waiting for a Revision to become ready.")]
    ConfigurationNotReady(String),
    #[error("Configuration {0:?} does not have any ready Revision.")]
    ConfigurationFailed(String),
    #[error("Revision {0:?} is not yet ready.")]
    RevisionNotReady(String),
    #[error("Revision {0:?} failed to become ready.")]
    RevisionFailed(String),
    /// Admission rejects this; kept so a bad object cannot panic the reconciler.
    #[error("Traffic target {0} names neither a revision nor a configuration.")]
    NoTarget(usize),
}

// === impl Missing ===

impl Missing {
    /// The `AllTrafficAssigned` reason. Knative reports every not-ready case as
    /// `RevisionMissing` too, whatever the kind of the target.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::ConfigurationMissing(_) => "ConfigurationMissing",
            Self::RevisionMissing(_)
            | Self::ConfigurationNotReady(_)
            | Self::ConfigurationFailed(_)
            | Self::RevisionNotReady(_)
            | Self::RevisionFailed(_) => "RevisionMissing",
            Self::NoTarget(_) => "Unknown",
        }
    }

    /// A failure (condition `False`) rather than something still in progress
    /// (`Unknown`): absent objects and targets whose Ready is False.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::ConfigurationMissing(_)
                | Self::RevisionMissing(_)
                | Self::ConfigurationFailed(_)
                | Self::RevisionFailed(_)
        )
    }

    /// The condition status this maps to.
    pub fn condition_status(&self) -> &'static str {
        if self.is_failure() {
            "False"
        } else {
            "Unknown"
        }
    }

    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::ConfigurationMissing(_) => "configuration_missing",
            Self::RevisionMissing(_) => "revision_missing",
            Self::ConfigurationNotReady(_) => "configuration_not_ready",
            Self::ConfigurationFailed(_) => "configuration_failed",
            Self::RevisionNotReady(_) => "revision_not_ready",
            Self::RevisionFailed(_) => "revision_failed",
            Self::NoTarget(_) => "no_target",
        }
    }
}
