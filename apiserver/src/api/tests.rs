//! Lists decide label selectors and continue tokens on the stored labels and keys,
//! without parsing what they leave out: these pin that the answers are the same as
//! selecting on the parsed objects (including after a restart, when labels come from
//! disk).

use serde_json::json;

use super::*;
use crate::selector::{FieldSelector, LabelSelector};

fn configmaps(api: &Api, namespace: Option<&str>) -> ResourcePath {
    ResourcePath {
        rt: api
            .table
            .find("", "v1", "configmaps")
            .cloned()
            .expect("configmaps"),
        namespace: namespace.map(str::to_string),
        name: None,
        subresource: None,
    }
}

fn put(api: &Api, ns: &str, name: &str, labels: serde_json::Value) {
    let key = object_key("/configmaps", ns, name);
    api.store
        .transact(false, |txn| {
            txn.put(
                &key,
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "namespace": ns, "labels": labels},
                       "data": {"name": name}}),
            );
            Ok::<(), StoreError>(())
        })
        .expect("put");
}

fn names(page: &ListPage) -> Vec<String> {
    page.items
        .iter()
        .map(|o| {
            o.object()["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn opts(labels: Option<&str>, fields: Option<&str>, limit: Option<usize>) -> ListOptions {
    ListOptions {
        labels: labels.map(|s| LabelSelector::parse(s).expect("label selector")),
        fields: fields.map(|s| FieldSelector::parse(s).expect("field selector")),
        limit,
        continue_token: None,
    }
}

/// Every page of a list, following continue tokens; and the remaining counts seen.
fn pages(api: &Api, rp: &ResourcePath, mut o: ListOptions) -> (Vec<String>, Vec<usize>) {
    let (mut all, mut remaining) = (Vec::new(), Vec::new());
    loop {
        let page = api.list(rp, &o).expect("list");
        all.extend(names(&page));
        remaining.extend(page.remaining);
        match page.continue_token {
            Some(token) => o.continue_token = Some(token),
            None => return (all, remaining),
        }
    }
}

fn check(api: &Api) {
    let all = configmaps(api, None);
    let blue = opts(Some("team=blue"), None, None);
    assert_eq!(
        names(&api.list(&all, &blue).expect("list")),
        ["a1", "a3", "b2"],
        "label selector across namespaces"
    );
    let in_a = configmaps(api, Some("a"));
    let not_blue = opts(Some("team!=blue,tier"), None, None);
    assert_eq!(names(&api.list(&in_a, &not_blue).expect("list")), ["a2"]);
    // A label whose value is not a string counts as absent, as on a parsed object.
    let numeric = opts(Some("!n"), None, None);
    assert_eq!(
        names(&api.list(&in_a, &numeric).expect("list")),
        ["a1", "a2", "a3"]
    );

    // Pages of two: each page's remaining count is what is left after it.
    let (names, remaining) = pages(api, &all, opts(None, None, Some(2)));
    assert_eq!(names, ["a1", "a2", "a3", "b1", "b2"]);
    assert_eq!(remaining, [3, 1]);
    let (names, remaining) = pages(api, &all, opts(Some("team=blue"), None, Some(2)));
    assert_eq!(names, ["a1", "a3", "b2"]);
    assert_eq!(remaining, [1]);
    // A field selector is decided on the parsed object, the remaining count too.
    let (names, remaining) = pages(
        api,
        &all,
        opts(Some("team=blue"), Some("metadata.namespace=a"), Some(1)),
    );
    assert_eq!(names, ["a1", "a3"]);
    assert_eq!(remaining, [1]);
    // A page that ends exactly at the last match has no continue token.
    let page = api
        .list(&all, &opts(Some("team=blue"), None, Some(3)))
        .expect("list");
    assert_eq!((page.continue_token, page.remaining), (None, None));
}

#[test]
fn selectors_and_pages_over_stored_labels_match_parsed_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db.redb");
    {
        let api = Api::open(&db).expect("open");
        put(&api, "a", "a1", json!({"team": "blue"}));
        put(
            &api,
            "a",
            "a2",
            json!({"team": "red", "tier": "web", "n": 1}),
        );
        put(&api, "a", "a3", json!({"team": "blue", "n": 2}));
        put(&api, "b", "b1", json!({}));
        put(&api, "b", "b2", json!({"team": "blue"}));
        check(&api);
    }
    // Reopened: the labels are read back from redb.
    check(&Api::open(&db).expect("reopen"));
}
