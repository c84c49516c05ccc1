//! The fields each resource can be selected by (`?fieldSelector=`), as kube-apiserver's
//! registries declare them (`ToSelectableFields` / `GetAttrs` per kind): every kind
//! has `metadata.name` and `metadata.namespace`, some add their own. A field names the
//! JSON path it reads, which is not always its own name (`source` reads
//! `source.component` on Events), and the value an absent field reads as (Go reads an
//! unset bool as `false`, an unset string as `""`).

/// One selectable field of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectableField {
    /// The name a selector uses: `involvedObject.name`.
    pub name: &'static str,
    /// The dotted JSON path it reads.
    pub path: &'static str,
    /// What a missing value reads as.
    pub absent: &'static str,
}

const fn string(name: &'static str) -> SelectableField {
    SelectableField {
        name,
        path: name,
        absent: "",
    }
}

const fn boolean(name: &'static str) -> SelectableField {
    SelectableField {
        name,
        path: name,
        absent: "false",
    }
}

/// Fields every resource supports (the generic registry's default).
pub(super) const GENERIC: [SelectableField; 2] =
    [string("metadata.name"), string("metadata.namespace")];

/// core/v1 Events (`pkg/registry/core/event`): what `kubectl describe` selects by
/// (`involvedObject.name/namespace/kind/uid`) and what `kubectl get events
/// --field-selector` users filter on.
const EVENTS: &[SelectableField] = &[
    string("involvedObject.kind"),
    string("involvedObject.namespace"),
    string("involvedObject.name"),
    string("involvedObject.uid"),
    string("involvedObject.apiVersion"),
    string("involvedObject.resourceVersion"),
    string("involvedObject.fieldPath"),
    string("reason"),
    string("reportingComponent"),
    SelectableField {
        name: "source",
        path: "source.component",
        absent: "",
    },
    string("type"),
];

/// core/v1 Pods (`pkg/registry/core/pod`): a kubelet lists its node's pods by
/// `spec.nodeName`.
const PODS: &[SelectableField] = &[
    string("spec.nodeName"),
    string("spec.restartPolicy"),
    string("spec.schedulerName"),
    string("spec.serviceAccountName"),
    boolean("spec.hostNetwork"),
    string("status.phase"),
    string("status.podIP"),
    string("status.nominatedNodeName"),
];

const SECRETS: &[SelectableField] = &[string("type")];
const NAMESPACES: &[SelectableField] = &[string("status.phase")];
const NODES: &[SelectableField] = &[boolean("spec.unschedulable")];

/// The fields `group/plural` supports beyond [`GENERIC`].
pub fn selectable_fields(group: &str, plural: &str) -> &'static [SelectableField] {
    match (group, plural) {
        ("", "events") => EVENTS,
        ("", "pods") => PODS,
        ("", "secrets") => SECRETS,
        ("", "namespaces") => NAMESPACES,
        ("", "nodes") => NODES,
        _ => &[],
    }
}
