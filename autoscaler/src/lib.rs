//! Knative KPA semantics (stable/panic windows, rate limits, scale to zero) as a
//! deterministic core actuating through the `/scale` subresource. It arrives with the
//! scale-to-zero issue.
