//! One `tools/call`, from the tool's catalog entry to its audit record: the catalog (tools,
//! validators and request plans built once), the pipeline (scopes, rate limit, confirmation,
//! upstream identity, request, response, audit) and the state every call shares, asking a
//! human before a confirmed call and what they are shown, and the cap on calls in progress.

pub mod catalog;
pub mod concurrency;
pub mod confirmation;
pub mod dry_run;
pub mod pipeline;
