//! Holds requests for revisions without ready capacity, pokes the autoscaler on a cold
//! request and forwards through per-pod breakers once endpoints are ready. It arrives
//! with the scale-to-zero issue.
