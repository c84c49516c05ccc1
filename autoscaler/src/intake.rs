//! One second of reports for one revision. Every gateway and activator reports each
//! second; Knative sums all reporters' stats for the same second into one bucket, and
//! so does this, per kind of reporter. A request that goes through a gateway *and* the
//! activator is counted by both, so the two kinds are not added: the bucket takes the
//! larger. With fnmesh's gateway in front that is the gateway's count; behind an
//! ingress that reports nothing (a stock Envoy) it is the activator's.

use stat_stream::{RevisionStat, StatSource};

use crate::revision_scaling::ScalingMetric;

/// Sums for one revision over the second being collected.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct SecondTotals {
    ingress: Totals,
    activator: Totals,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    concurrency: f64,
    requests: u64,
}

// === impl SecondTotals ===

impl SecondTotals {
    /// Adds one reporter's stat.
    pub(crate) fn add(&mut self, source: StatSource, stat: &RevisionStat) {
        let totals = match source {
            StatSource::Ingress => &mut self.ingress,
            StatSource::Activator => &mut self.activator,
        };
        if stat.concurrency.is_finite() && stat.concurrency > 0.0 {
            totals.concurrency += stat.concurrency;
        }
        totals.requests = totals.requests.saturating_add(stat.requests);
    }

    /// The bucket's value for the revision's scaling metric (requests in the second
    /// for rps, average in-flight requests for concurrency).
    pub(crate) fn value(&self, metric: ScalingMetric) -> f64 {
        let of = |t: &Totals| match metric {
            ScalingMetric::Concurrency => t.concurrency,
            #[allow(clippy::cast_precision_loss)]
            ScalingMetric::Rps => t.requests as f64,
        };
        of(&self.ingress).max(of(&self.activator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(concurrency: f64, requests: u64) -> RevisionStat {
        RevisionStat {
            namespace: "default".into(),
            revision: "hello-00001".into(),
            concurrency,
            requests,
        }
    }

    #[test]
    fn reporters_of_one_kind_add_up_and_the_kinds_do_not() {
        let mut totals = SecondTotals::default();
        totals.add(StatSource::Ingress, &stat(1.5, 3));
        totals.add(StatSource::Ingress, &stat(2.0, 4));
        totals.add(StatSource::Activator, &stat(3.0, 5));
        assert_eq!(totals.value(ScalingMetric::Concurrency), 3.5);
        assert_eq!(totals.value(ScalingMetric::Rps), 7.0);
        // Behind an ingress that reports nothing, the activator's count stands.
        let mut behind_envoy = SecondTotals::default();
        behind_envoy.add(StatSource::Activator, &stat(3.0, 5));
        assert_eq!(behind_envoy.value(ScalingMetric::Concurrency), 3.0);
    }

    #[test]
    fn nonsense_concurrency_is_ignored() {
        let mut totals = SecondTotals::default();
        totals.add(StatSource::Ingress, &stat(f64::NAN, 0));
        totals.add(StatSource::Ingress, &stat(-4.0, 0));
        totals.add(StatSource::Ingress, &stat(f64::INFINITY, 0));
        assert_eq!(totals.value(ScalingMetric::Concurrency), 0.0);
    }
}
