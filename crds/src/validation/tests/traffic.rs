use serde_json::{Value, json};

use super::{assert_err, errors_of, one};
use crate::Route;
use crate::defaults::default_route;
use crate::validation::validate_route;

#[test]
fn traffic_must_sum_to_100() {
    let errs = errors_of(
        json!({"template": one(json!({})), "traffic": [{"percent": 90, "latestRevision": true}]}),
    );
    assert_err(
        &errs,
        "spec.traffic: traffic percentages must sum to 100, got 90",
    );
}

#[test]
fn traffic_percent_in_range() {
    let errs = errors_of(json!({"template": one(json!({})), "traffic": [
        {"percent": 120, "latestRevision": true}, {"percent": -20, "revisionName": "hello-00001"}]}));
    assert_err(&errs, "spec.traffic[0].percent: expected 0 <= 120 <= 100");
    assert_err(&errs, "spec.traffic[1].percent: expected 0 <= -20 <= 100");
}

#[test]
fn configuration_name_not_allowed_in_service() {
    let errs = errors_of(
        json!({"template": one(json!({})), "traffic": [{"percent": 100, "configurationName": "other"}]}),
    );
    assert!(
        errs[0].starts_with("spec.traffic[0].configurationName: must not set the field(s)"),
        "{errs:?}"
    );
}

#[test]
fn route_needs_exactly_one_of_revision_or_configuration() {
    let route = |t: Value| {
        let mut r: Route =
            serde_json::from_value(json!({"metadata": {"name": "r"}, "spec": {"traffic": [t]}}))
                .unwrap();
        default_route(&mut r);
        validate_route(&r, None)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_err(
        &route(json!({"percent": 100, "revisionName": "a", "configurationName": "b"})),
        "spec.traffic[0]: expected exactly one, got both: revisionName, configurationName",
    );
    assert_err(
        &route(json!({"percent": 100})),
        "spec.traffic[0]: expected exactly one, got neither: revisionName, configurationName",
    );
    assert!(route(json!({"percent": 100, "configurationName": "b"})).is_empty());
    assert!(route(json!({"percent": 100, "revisionName": "b-00001"})).is_empty());
}

#[test]
fn latest_revision_must_agree_with_revision_name() {
    let errs = errors_of(json!({"template": one(json!({})), "traffic": [
        {"percent": 50, "latestRevision": true, "revisionName": "hello-00001"},
        {"percent": 50, "latestRevision": false}]}));
    assert_err(
        &errs,
        "spec.traffic[0].latestRevision: may not set revisionName \"hello-00001\" when latestRevision is true",
    );
    assert_err(
        &errs,
        "spec.traffic[1].latestRevision: may not set revisionName \"\" when latestRevision is false",
    );
}

#[test]
fn tags_are_dns_labels_and_unique() {
    let errs = errors_of(json!({"template": one(json!({})), "traffic": [
        {"percent": 50, "tag": "Bad_Tag"}, {"percent": 25, "tag": "a"}, {"percent": 25, "tag": "a"}]}));
    assert!(
        errs.iter()
            .any(|e| e.starts_with("spec.traffic[0].tag: invalid tag \"Bad_Tag\"")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("spec.traffic[2].tag: multiple definitions for tag \"a\"")),
        "{errs:?}"
    );
}

#[test]
fn url_is_status_only() {
    let errs = errors_of(
        json!({"template": one(json!({})), "traffic": [{"percent": 100, "tag": "a", "url": "http://x"}]}),
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("spec.traffic[0].url: must not set")),
        "{errs:?}"
    );
}
