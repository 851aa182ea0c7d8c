//! What operators see: one audit line per call and per refusal, Prometheus metrics, and
//! OpenTelemetry spans with W3C trace context.

pub mod audit;
pub mod metrics;
pub mod trace;
