//! One `tools/call`, from the tool's catalog entry to its audit record: the pipeline (scopes,
//! rate limit, confirmation, upstream identity, request, response, audit), what a human is
//! shown before a confirmed call, and the cap on calls in progress.

pub mod catalog;
pub mod concurrency;
pub mod confirmation;
pub mod dry_run;
pub mod pipeline;
