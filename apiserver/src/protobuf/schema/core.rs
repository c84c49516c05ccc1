//! k8s.io/api/core/v1 messages: the kinds `kubectl create` builds, and the pod
//! template a Deployment embeds.

use super::meta::OBJECT_META;
use super::{Field, Message, Type};

const META: Field = Field::omit(1, "metadata", Type::Message(&OBJECT_META));

pub(in crate::protobuf) static CONFIG_MAP: Message = Message {
    name: "ConfigMap",
    fields: &[
        META,
        Field::ptr(4, "immutable", Type::Bool),
        Field::map(2, "data", Type::String),
        Field::map(3, "binaryData", Type::Bytes),
    ],
};

pub(in crate::protobuf) static SECRET: Message = Message {
    name: "Secret",
    fields: &[
        META,
        Field::ptr(5, "immutable", Type::Bool),
        Field::map(2, "data", Type::Bytes),
        Field::map(4, "stringData", Type::String),
        Field::omit(3, "type", Type::String),
    ],
};

pub(in crate::protobuf) static NAMESPACE: Message = Message {
    name: "Namespace",
    fields: &[
        META,
        Field::always(2, "spec", Type::Message(&NAMESPACE_SPEC)),
        Field::always(3, "status", Type::Message(&NAMESPACE_STATUS)),
    ],
};

static NAMESPACE_SPEC: Message = Message {
    name: "NamespaceSpec",
    fields: &[Field::list(1, "finalizers", Type::String)],
};

static NAMESPACE_STATUS: Message = Message {
    name: "NamespaceStatus",
    fields: &[
        Field::omit(1, "phase", Type::String),
        Field::list(2, "conditions", Type::Message(&NAMESPACE_CONDITION)),
    ],
};

static NAMESPACE_CONDITION: Message = Message {
    name: "NamespaceCondition",
    fields: &[
        Field::always(1, "type", Type::String),
        Field::always(2, "status", Type::String),
        Field::always(4, "lastTransitionTime", Type::Time),
        Field::omit(5, "reason", Type::String),
        Field::omit(6, "message", Type::String),
    ],
};

pub(in crate::protobuf) static SERVICE: Message = Message {
    name: "Service",
    fields: &[
        META,
        Field::always(2, "spec", Type::Message(&SERVICE_SPEC)),
        Field::always(3, "status", Type::Message(&SERVICE_STATUS)),
    ],
};

static SERVICE_SPEC: Message = Message {
    name: "ServiceSpec",
    fields: &[
        Field::list(1, "ports", Type::Message(&SERVICE_PORT)),
        Field::map(2, "selector", Type::String),
        Field::omit(3, "clusterIP", Type::String),
        Field::list(18, "clusterIPs", Type::String),
        Field::omit(4, "type", Type::String),
        Field::list(5, "externalIPs", Type::String),
        Field::omit(7, "sessionAffinity", Type::String),
        Field::omit(8, "loadBalancerIP", Type::String),
        Field::list(9, "loadBalancerSourceRanges", Type::String),
        Field::omit(10, "externalName", Type::String),
        Field::omit(11, "externalTrafficPolicy", Type::String),
        Field::omit(12, "healthCheckNodePort", Type::Int32),
        Field::omit(13, "publishNotReadyAddresses", Type::Bool),
        Field::ptr(
            14,
            "sessionAffinityConfig",
            Type::Unmodelled("SessionAffinityConfig"),
        ),
        Field::list(19, "ipFamilies", Type::String),
        Field::ptr(17, "ipFamilyPolicy", Type::String),
        Field::ptr(20, "allocateLoadBalancerNodePorts", Type::Bool),
        Field::ptr(21, "loadBalancerClass", Type::String),
        Field::ptr(22, "internalTrafficPolicy", Type::String),
        Field::ptr(23, "trafficDistribution", Type::String),
    ],
};

static SERVICE_PORT: Message = Message {
    name: "ServicePort",
    fields: &[
        Field::omit(1, "name", Type::String),
        Field::omit(2, "protocol", Type::String),
        Field::ptr(6, "appProtocol", Type::String),
        Field::always(3, "port", Type::Int32),
        Field::always(4, "targetPort", Type::IntOrString),
        Field::omit(5, "nodePort", Type::Int32),
    ],
};

static SERVICE_STATUS: Message = Message {
    name: "ServiceStatus",
    fields: &[
        Field::always(1, "loadBalancer", Type::Message(&LOAD_BALANCER_STATUS)),
        Field::list(2, "conditions", Type::Unmodelled("Condition")),
    ],
};

static LOAD_BALANCER_STATUS: Message = Message {
    name: "LoadBalancerStatus",
    fields: &[Field::list(
        1,
        "ingress",
        Type::Unmodelled("LoadBalancerIngress"),
    )],
};

pub(in crate::protobuf) static SERVICE_ACCOUNT: Message = Message {
    name: "ServiceAccount",
    fields: &[
        META,
        Field::list(2, "secrets", Type::Message(&OBJECT_REFERENCE)),
        Field::list(
            3,
            "imagePullSecrets",
            Type::Message(&LOCAL_OBJECT_REFERENCE),
        ),
        Field::ptr(4, "automountServiceAccountToken", Type::Bool),
    ],
};

static OBJECT_REFERENCE: Message = Message {
    name: "ObjectReference",
    fields: &[
        Field::omit(1, "kind", Type::String),
        Field::omit(2, "namespace", Type::String),
        Field::omit(3, "name", Type::String),
        Field::omit(4, "uid", Type::String),
        Field::omit(5, "apiVersion", Type::String),
        Field::omit(6, "resourceVersion", Type::String),
        Field::omit(7, "fieldPath", Type::String),
    ],
};

static LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "LocalObjectReference",
    fields: &[Field::omit(1, "name", Type::String)],
};

pub(in crate::protobuf) static POD_TEMPLATE_SPEC: Message = Message {
    name: "PodTemplateSpec",
    fields: &[META, Field::omit(2, "spec", Type::Message(&POD_SPEC))],
};

static POD_SPEC: Message = Message {
    name: "PodSpec",
    fields: &[
        Field::list(1, "volumes", Type::Unmodelled("Volume")),
        Field::list(20, "initContainers", Type::Message(&CONTAINER)),
        Field::list(2, "containers", Type::Message(&CONTAINER)),
        Field::list(
            34,
            "ephemeralContainers",
            Type::Unmodelled("EphemeralContainer"),
        ),
        Field::omit(3, "restartPolicy", Type::String),
        Field::ptr(4, "terminationGracePeriodSeconds", Type::Int64),
        Field::ptr(5, "activeDeadlineSeconds", Type::Int64),
        Field::omit(6, "dnsPolicy", Type::String),
        Field::map(7, "nodeSelector", Type::String),
        Field::omit(8, "serviceAccountName", Type::String),
        Field::omit(9, "serviceAccount", Type::String),
        Field::ptr(21, "automountServiceAccountToken", Type::Bool),
        Field::omit(10, "nodeName", Type::String),
        Field::omit(11, "hostNetwork", Type::Bool),
        Field::omit(12, "hostPID", Type::Bool),
        Field::omit(13, "hostIPC", Type::Bool),
        Field::ptr(27, "shareProcessNamespace", Type::Bool),
        Field::ptr(
            14,
            "securityContext",
            Type::Unmodelled("PodSecurityContext"),
        ),
        Field::list(
            15,
            "imagePullSecrets",
            Type::Message(&LOCAL_OBJECT_REFERENCE),
        ),
        Field::omit(16, "hostname", Type::String),
        Field::omit(17, "subdomain", Type::String),
        Field::ptr(18, "affinity", Type::Unmodelled("Affinity")),
        Field::omit(19, "schedulerName", Type::String),
        Field::list(22, "tolerations", Type::Message(&TOLERATION)),
        Field::list(23, "hostAliases", Type::Unmodelled("HostAlias")),
        Field::omit(24, "priorityClassName", Type::String),
        Field::ptr(25, "priority", Type::Int32),
        Field::ptr(26, "dnsConfig", Type::Unmodelled("PodDNSConfig")),
        Field::list(28, "readinessGates", Type::Unmodelled("PodReadinessGate")),
        Field::ptr(29, "runtimeClassName", Type::String),
        Field::ptr(30, "enableServiceLinks", Type::Bool),
        Field::ptr(31, "preemptionPolicy", Type::String),
        Field::map(32, "overhead", Type::Quantity),
        Field::list(
            33,
            "topologySpreadConstraints",
            Type::Unmodelled("TopologySpreadConstraint"),
        ),
        Field::ptr(35, "setHostnameAsFQDN", Type::Bool),
        Field::ptr(36, "os", Type::Unmodelled("PodOS")),
        Field::ptr(37, "hostUsers", Type::Bool),
        Field::list(38, "schedulingGates", Type::Unmodelled("PodSchedulingGate")),
        Field::list(39, "resourceClaims", Type::Unmodelled("PodResourceClaim")),
        Field::ptr(40, "resources", Type::Message(&RESOURCE_REQUIREMENTS)),
        Field::ptr(41, "hostnameOverride", Type::String),
    ],
};

static CONTAINER: Message = Message {
    name: "Container",
    fields: &[
        Field::always(1, "name", Type::String),
        Field::omit(2, "image", Type::String),
        Field::list(3, "command", Type::String),
        Field::list(4, "args", Type::String),
        Field::omit(5, "workingDir", Type::String),
        Field::list(6, "ports", Type::Message(&CONTAINER_PORT)),
        Field::list(19, "envFrom", Type::Message(&ENV_FROM_SOURCE)),
        Field::list(7, "env", Type::Message(&ENV_VAR)),
        Field::always(8, "resources", Type::Message(&RESOURCE_REQUIREMENTS)),
        Field::list(
            23,
            "resizePolicy",
            Type::Unmodelled("ContainerResizePolicy"),
        ),
        Field::ptr(24, "restartPolicy", Type::String),
        Field::list(
            25,
            "restartPolicyRules",
            Type::Unmodelled("ContainerRestartRule"),
        ),
        Field::list(9, "volumeMounts", Type::Message(&VOLUME_MOUNT)),
        Field::list(21, "volumeDevices", Type::Unmodelled("VolumeDevice")),
        Field::ptr(10, "livenessProbe", Type::Message(&PROBE)),
        Field::ptr(11, "readinessProbe", Type::Message(&PROBE)),
        Field::ptr(22, "startupProbe", Type::Message(&PROBE)),
        Field::ptr(12, "lifecycle", Type::Unmodelled("Lifecycle")),
        Field::omit(13, "terminationMessagePath", Type::String),
        Field::omit(20, "terminationMessagePolicy", Type::String),
        Field::omit(14, "imagePullPolicy", Type::String),
        Field::ptr(15, "securityContext", Type::Unmodelled("SecurityContext")),
        Field::omit(16, "stdin", Type::Bool),
        Field::omit(17, "stdinOnce", Type::Bool),
        Field::omit(18, "tty", Type::Bool),
    ],
};

static CONTAINER_PORT: Message = Message {
    name: "ContainerPort",
    fields: &[
        Field::omit(1, "name", Type::String),
        Field::omit(2, "hostPort", Type::Int32),
        Field::always(3, "containerPort", Type::Int32),
        Field::omit(4, "protocol", Type::String),
        Field::omit(5, "hostIP", Type::String),
    ],
};

static ENV_FROM_SOURCE: Message = Message {
    name: "EnvFromSource",
    fields: &[
        Field::omit(1, "prefix", Type::String),
        Field::ptr(2, "configMapRef", Type::Message(&OPTIONAL_REFERENCE)),
        Field::ptr(3, "secretRef", Type::Message(&OPTIONAL_REFERENCE)),
    ],
};

/// ConfigMapEnvSource and SecretEnvSource share this shape.
static OPTIONAL_REFERENCE: Message = Message {
    name: "ConfigMapEnvSource",
    fields: &[
        Field::inline(1, &LOCAL_OBJECT_REFERENCE),
        Field::ptr(2, "optional", Type::Bool),
    ],
};

static ENV_VAR: Message = Message {
    name: "EnvVar",
    fields: &[
        Field::always(1, "name", Type::String),
        Field::omit(2, "value", Type::String),
        Field::ptr(3, "valueFrom", Type::Message(&ENV_VAR_SOURCE)),
    ],
};

static ENV_VAR_SOURCE: Message = Message {
    name: "EnvVarSource",
    fields: &[
        Field::ptr(1, "fieldRef", Type::Message(&OBJECT_FIELD_SELECTOR)),
        Field::ptr(
            2,
            "resourceFieldRef",
            Type::Message(&RESOURCE_FIELD_SELECTOR),
        ),
        Field::ptr(3, "configMapKeyRef", Type::Message(&KEY_SELECTOR)),
        Field::ptr(4, "secretKeyRef", Type::Message(&KEY_SELECTOR)),
        Field::ptr(5, "fileKeyRef", Type::Unmodelled("FileKeySelector")),
    ],
};

static OBJECT_FIELD_SELECTOR: Message = Message {
    name: "ObjectFieldSelector",
    fields: &[
        Field::omit(1, "apiVersion", Type::String),
        Field::always(2, "fieldPath", Type::String),
    ],
};

static RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "ResourceFieldSelector",
    fields: &[
        Field::omit(1, "containerName", Type::String),
        Field::always(2, "resource", Type::String),
        Field::omit(3, "divisor", Type::Quantity),
    ],
};

/// ConfigMapKeySelector and SecretKeySelector share this shape.
static KEY_SELECTOR: Message = Message {
    name: "ConfigMapKeySelector",
    fields: &[
        Field::inline(1, &LOCAL_OBJECT_REFERENCE),
        Field::always(2, "key", Type::String),
        Field::ptr(3, "optional", Type::Bool),
    ],
};

static RESOURCE_REQUIREMENTS: Message = Message {
    name: "ResourceRequirements",
    fields: &[
        Field::map(1, "limits", Type::Quantity),
        Field::map(2, "requests", Type::Quantity),
        Field::list(3, "claims", Type::Message(&RESOURCE_CLAIM)),
    ],
};

static RESOURCE_CLAIM: Message = Message {
    name: "ResourceClaim",
    fields: &[
        Field::always(1, "name", Type::String),
        Field::omit(2, "request", Type::String),
    ],
};

static VOLUME_MOUNT: Message = Message {
    name: "VolumeMount",
    fields: &[
        Field::always(1, "name", Type::String),
        Field::omit(2, "readOnly", Type::Bool),
        Field::ptr(7, "recursiveReadOnly", Type::String),
        Field::always(3, "mountPath", Type::String),
        Field::omit(4, "subPath", Type::String),
        Field::ptr(5, "mountPropagation", Type::String),
        Field::omit(6, "subPathExpr", Type::String),
        Field::list(8, "bindMountOptions", Type::String),
    ],
};

static PROBE: Message = Message {
    name: "Probe",
    fields: &[
        Field::inline(1, &PROBE_HANDLER),
        Field::omit(2, "initialDelaySeconds", Type::Int32),
        Field::omit(3, "timeoutSeconds", Type::Int32),
        Field::omit(4, "periodSeconds", Type::Int32),
        Field::omit(5, "successThreshold", Type::Int32),
        Field::omit(6, "failureThreshold", Type::Int32),
        Field::ptr(7, "terminationGracePeriodSeconds", Type::Int64),
    ],
};

static PROBE_HANDLER: Message = Message {
    name: "ProbeHandler",
    fields: &[
        Field::ptr(1, "exec", Type::Message(&EXEC_ACTION)),
        Field::ptr(2, "httpGet", Type::Message(&HTTP_GET_ACTION)),
        Field::ptr(3, "tcpSocket", Type::Message(&TCP_SOCKET_ACTION)),
        Field::ptr(4, "grpc", Type::Message(&GRPC_ACTION)),
    ],
};

static EXEC_ACTION: Message = Message {
    name: "ExecAction",
    fields: &[Field::list(1, "command", Type::String)],
};

static HTTP_GET_ACTION: Message = Message {
    name: "HTTPGetAction",
    fields: &[
        Field::omit(1, "path", Type::String),
        Field::always(2, "port", Type::IntOrString),
        Field::omit(3, "host", Type::String),
        Field::omit(4, "scheme", Type::String),
        Field::list(5, "httpHeaders", Type::Message(&HTTP_HEADER)),
        Field::ptr(6, "protocol", Type::String),
    ],
};

static HTTP_HEADER: Message = Message {
    name: "HTTPHeader",
    fields: &[
        Field::always(1, "name", Type::String),
        Field::always(2, "value", Type::String),
    ],
};

static TCP_SOCKET_ACTION: Message = Message {
    name: "TCPSocketAction",
    fields: &[
        Field::always(1, "port", Type::IntOrString),
        Field::omit(2, "host", Type::String),
    ],
};

static GRPC_ACTION: Message = Message {
    name: "GRPCAction",
    fields: &[
        Field::always(1, "port", Type::Int32),
        Field::ptr(2, "service", Type::String),
        Field::ptr(3, "mode", Type::String),
    ],
};

static TOLERATION: Message = Message {
    name: "Toleration",
    fields: &[
        Field::omit(1, "key", Type::String),
        Field::omit(2, "operator", Type::String),
        Field::omit(3, "value", Type::String),
        Field::omit(4, "effect", Type::String),
        Field::ptr(5, "tolerationSeconds", Type::Int64),
    ],
};
