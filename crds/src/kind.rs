//! `ServingKind`: the four serving.knative.dev/v1 resources, by plural and kind.

pub const GROUP: &str = "serving.knative.dev";
pub const VERSION: &str = "v1";
pub const API_VERSION: &str = "serving.knative.dev/v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServingKind {
    Service,
    Configuration,
    Revision,
    Route,
}

// === impl ServingKind ===

impl ServingKind {
    pub const ALL: [ServingKind; 4] = [
        ServingKind::Service,
        ServingKind::Configuration,
        ServingKind::Revision,
        ServingKind::Route,
    ];

    pub fn from_plural(plural: &str) -> Option<ServingKind> {
        Self::ALL.into_iter().find(|k| k.plural() == plural)
    }

    pub fn plural(self) -> &'static str {
        match self {
            ServingKind::Service => "services",
            ServingKind::Configuration => "configurations",
            ServingKind::Revision => "revisions",
            ServingKind::Route => "routes",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            ServingKind::Service => "Service",
            ServingKind::Configuration => "Configuration",
            ServingKind::Revision => "Revision",
            ServingKind::Route => "Route",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_round_trips() {
        for k in ServingKind::ALL {
            assert_eq!(ServingKind::from_plural(k.plural()), Some(k));
        }
        assert_eq!(ServingKind::from_plural("pods"), None);
        assert_eq!(ServingKind::Route.kind(), "Route");
    }
}
