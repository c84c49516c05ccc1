//! A Configuration's status from its Revisions, as Knative's Configuration reconciler
//! computes it: `Ready` is True when the latest created Revision is the latest ready
//! one, False (`RevisionFailed`, with the Revision's message) when the latest created
//! one failed, Unknown while it comes up.

use crds::{Configuration, ConfigurationStatus, Revision};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::latest::{LatestCreated, latest_ready};
use crate::conditions::{ConditionSet, FALSE, READY, TRUE, find};

pub const CONFIGURATION_CONDITIONS: ConditionSet = ConditionSet::living(&[]);
pub const REVISION_FAILED: &str = "RevisionFailed";

/// The Configuration's new status. `creation_error` is the API's answer when stamping
/// the Revision was refused (e.g. it failed validation).
pub fn configuration_status(
    cfg: &Configuration,
    latest: LatestCreated<'_>,
    creation_error: Option<&str>,
    revisions: &[Revision],
    now: Time,
) -> ConfigurationStatus {
    let mut status = cfg.status.clone().unwrap_or_default();
    let mut conds = status.conditions.take().unwrap_or_default();
    let mut m = CONFIGURATION_CONDITIONS.manage(&mut conds, now);
    m.initialize();
    status.observed_generation = cfg.metadata.generation;

    match latest {
        LatestCreated::NameTaken(name) => m.mark_false(
            READY,
            REVISION_FAILED,
            &format!(
                "Revision creation failed with message: revisions.serving.knative.dev {name:?} already exists."
            ),
        ),
        LatestCreated::Missing => {
            if let Some(err) = creation_error {
                m.mark_false(
                    READY,
                    REVISION_FAILED,
                    &format!("Revision creation failed with message: {err}."),
                );
            }
        }
        LatestCreated::Found(rev) => {
            let name = rev.name_any();
            if status.latest_ready_revision_name.as_deref() != Some(name.as_str()) {
                m.mark_unknown(READY, "", "");
            }
            status.latest_created_revision_name = Some(name.clone());
            let ready = rev
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_deref())
                .and_then(|c| find(c, READY));
            if let Some(c) = ready.filter(|c| c.status == FALSE) {
                m.mark_false(
                    READY,
                    REVISION_FAILED,
                    &format!(
                        "Revision {name:?} failed with message: {}.",
                        c.message.as_deref().unwrap_or_default()
                    ),
                );
            }
            if let Some(lrr) = latest_ready(cfg, revisions) {
                let lrr = lrr.name_any();
                if lrr == name {
                    m.mark_true(READY);
                }
                status.latest_ready_revision_name = Some(lrr);
            }
        }
    }
    status.conditions = Some(conds);
    status
}

/// Whether the status says Ready=True (used by tests and logs).
pub fn is_ready(status: &ConfigurationStatus) -> bool {
    status
        .conditions
        .as_deref()
        .and_then(|c| find(c, READY))
        .is_some_and(|c| c.status == TRUE)
}
