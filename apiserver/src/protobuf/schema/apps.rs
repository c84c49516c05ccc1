//! k8s.io/api/apps/v1 messages.

use super::core::POD_TEMPLATE_SPEC;
use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::{Field, Message, Type};

pub(in crate::protobuf) static DEPLOYMENT: Message = Message {
    name: "Deployment",
    fields: &[
        Field::omit(1, "metadata", Type::Message(&OBJECT_META)),
        Field::always(2, "spec", Type::Message(&DEPLOYMENT_SPEC)),
        Field::always(3, "status", Type::Message(&DEPLOYMENT_STATUS)),
    ],
};

static DEPLOYMENT_SPEC: Message = Message {
    name: "DeploymentSpec",
    fields: &[
        Field::ptr(1, "replicas", Type::Int32),
        Field::ptr(2, "selector", Type::Message(&LABEL_SELECTOR)),
        Field::always(3, "template", Type::Message(&POD_TEMPLATE_SPEC)),
        Field::always(4, "strategy", Type::Message(&DEPLOYMENT_STRATEGY)),
        Field::omit(5, "minReadySeconds", Type::Int32),
        Field::ptr(6, "revisionHistoryLimit", Type::Int32),
        Field::omit(7, "paused", Type::Bool),
        Field::ptr(9, "progressDeadlineSeconds", Type::Int32),
    ],
};

static DEPLOYMENT_STRATEGY: Message = Message {
    name: "DeploymentStrategy",
    fields: &[
        Field::omit(1, "type", Type::String),
        Field::ptr(
            2,
            "rollingUpdate",
            Type::Message(&ROLLING_UPDATE_DEPLOYMENT),
        ),
    ],
};

static ROLLING_UPDATE_DEPLOYMENT: Message = Message {
    name: "RollingUpdateDeployment",
    fields: &[
        Field::ptr(1, "maxUnavailable", Type::IntOrString),
        Field::ptr(2, "maxSurge", Type::IntOrString),
    ],
};

static DEPLOYMENT_STATUS: Message = Message {
    name: "DeploymentStatus",
    fields: &[
        Field::omit(1, "observedGeneration", Type::Int64),
        Field::omit(2, "replicas", Type::Int32),
        Field::omit(3, "updatedReplicas", Type::Int32),
        Field::omit(7, "readyReplicas", Type::Int32),
        Field::omit(4, "availableReplicas", Type::Int32),
        Field::omit(5, "unavailableReplicas", Type::Int32),
        Field::ptr(9, "terminatingReplicas", Type::Int32),
        Field::list(6, "conditions", Type::Message(&DEPLOYMENT_CONDITION)),
        Field::ptr(8, "collisionCount", Type::Int32),
    ],
};

static DEPLOYMENT_CONDITION: Message = Message {
    name: "DeploymentCondition",
    fields: &[
        Field::always(1, "type", Type::String),
        Field::always(2, "status", Type::String),
        Field::omit(6, "lastUpdateTime", Type::Time),
        Field::omit(7, "lastTransitionTime", Type::Time),
        Field::omit(4, "reason", Type::String),
        Field::omit(5, "message", Type::String),
    ],
};
