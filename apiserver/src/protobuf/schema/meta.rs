//! k8s.io/apimachinery/pkg/apis/meta/v1 messages.

use super::{Field, Message, Type};

pub(in crate::protobuf) static OBJECT_META: Message = Message {
    name: "ObjectMeta",
    fields: &[
        Field::omit(1, "name", Type::String),
        Field::omit(2, "generateName", Type::String),
        Field::omit(3, "namespace", Type::String),
        Field::omit(4, "selfLink", Type::String),
        Field::omit(5, "uid", Type::String),
        Field::omit(6, "resourceVersion", Type::String),
        Field::omit(7, "generation", Type::Int64),
        // A non-pointer struct: Go writes `null` for the zero time, never omits it.
        Field::always(8, "creationTimestamp", Type::Time),
        Field::ptr(9, "deletionTimestamp", Type::Time),
        Field::ptr(10, "deletionGracePeriodSeconds", Type::Int64),
        Field::map(11, "labels", Type::String),
        Field::map(12, "annotations", Type::String),
        Field::list(13, "ownerReferences", Type::Message(&OWNER_REFERENCE)),
        Field::list(14, "finalizers", Type::String),
        Field::list(17, "managedFields", Type::Message(&MANAGED_FIELDS_ENTRY)),
    ],
};

static OWNER_REFERENCE: Message = Message {
    name: "OwnerReference",
    fields: &[
        Field::always(5, "apiVersion", Type::String),
        Field::always(1, "kind", Type::String),
        Field::always(3, "name", Type::String),
        Field::always(4, "uid", Type::String),
        Field::ptr(6, "controller", Type::Bool),
        Field::ptr(7, "blockOwnerDeletion", Type::Bool),
    ],
};

static MANAGED_FIELDS_ENTRY: Message = Message {
    name: "ManagedFieldsEntry",
    fields: &[
        Field::omit(1, "manager", Type::String),
        Field::omit(2, "operation", Type::String),
        Field::omit(3, "apiVersion", Type::String),
        Field::ptr(4, "time", Type::Time),
        Field::omit(6, "fieldsType", Type::String),
        // FieldsV1 is raw JSON; a client creating an object never sends it.
        Field::ptr(7, "fieldsV1", Type::Unmodelled("FieldsV1")),
        Field::omit(8, "subresource", Type::String),
    ],
};

pub(in crate::protobuf) static LABEL_SELECTOR: Message = Message {
    name: "LabelSelector",
    fields: &[
        Field::map(1, "matchLabels", Type::String),
        Field::list(
            2,
            "matchExpressions",
            Type::Message(&LABEL_SELECTOR_REQUIREMENT),
        ),
    ],
};

static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "LabelSelectorRequirement",
    fields: &[
        Field::always(1, "key", Type::String),
        Field::always(2, "operator", Type::String),
        Field::list(3, "values", Type::String),
    ],
};
