//! mcpgen: turns OpenAPI specs plus an annotation file into a governed Rust MCP server crate.
//!
//! The pipeline has four stages, each in its own module, with a typed value between them:
//! [`load`] (read specs and the annotation file) → [`lower`] (validate, select, apply policy →
//! [`ir::ServerIr`]) → [`emit`] (IR → file contents, pure) → [`write`] (atomic,
//! write-if-changed). See ARCHITECTURE.md.
#![deny(missing_docs)]

pub mod annotations;
pub mod cli;
pub mod contract;
pub mod defs;
pub mod diag;
pub mod diff;
pub mod emit;
pub mod init;
pub mod ir;
pub mod lint;
pub mod load;
pub mod lower;
#[path = "../runtime/src/support/media.rs"]
pub mod media;
pub mod naming;
pub mod parallel;
pub mod report;
pub mod sample;
pub mod validator;
pub mod wildcard;
pub mod write;

use diag::Diagnostics;
use naming::CrateName;

/// Lowers and emits a loaded project: the files of its server crate, the warnings, and the
/// crate's name. Nothing is written.
pub fn generate(
    project: load::Project,
) -> Result<(emit::Files, Diagnostics, CrateName), Diagnostics> {
    generate_with(project, &emit::EmitOptions::default())
}

/// [`generate`] with emit options. The project is dropped once lowered: emitting needs only
/// the IR, and the parsed specs are the largest thing in memory.
pub fn generate_with(
    project: load::Project,
    options: &emit::EmitOptions,
) -> Result<(emit::Files, Diagnostics, CrateName), Diagnostics> {
    let clock = std::time::Instant::now();
    let lowered = lower::lower(&project)?;
    if std::env::var_os("MCPGEN_TIMINGS").is_some() {
        eprintln!(
            "timing: lower took {} ms{}",
            clock.elapsed().as_millis(),
            peak_memory()
        );
    }
    let annotation_file = project.annotation_file_name();
    // The spec, then the IR, are freed on a thread of their own: freeing millions of small
    // values takes a while that emitting and writing need not wait for (emit leaves a core
    // partly idle while the contract is put together). A build peaks while lowering, with the
    // spec loaded: freeing it while emit allocates adds little to the peak (≤ 5 MB).
    drop_in_background(project);
    let files = emit::emit(&lowered.ir, &annotation_file, options);
    let crate_name = lowered.ir.crate_name.clone();
    drop_in_background(lowered.ir);
    Ok((files, lowered.warnings, crate_name))
}

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (the bindings name only older options).
pub(crate) const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Has the allocator (mimalloc, which the `mcpgen` binary uses) return freed memory to the
/// system after 10 ms (mimalloc 2's delay) rather than mimalloc 3's second: a build frees a
/// spec's worth of values while lowering and allocates as much while emitting, all within a
/// second, so the longer delay holds both at once (the synthetic spec's peak: 150 MB instead of
/// 127 MB). An environment setting (`MIMALLOC_PURGE_DELAY`) still wins.
#[allow(unsafe_code)]
pub fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets one of the allocator's options, by its number; no pointers are involved.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10) }
}

/// Drops `value` on a thread of its own; if none can be started, the closure holding it is
/// dropped here, and `value` with it.
fn drop_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}

/// The process's peak resident memory so far, as `, peak N MB` (Linux; empty elsewhere).
pub(crate) fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!(", peak {} MB", kb / 1024))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// The option number set at start-up is mimalloc 3's purge delay: its default, a second,
    /// is what that option holds before anything sets it.
    #[test]
    #[allow(unsafe_code)]
    fn the_option_set_at_start_up_is_the_purge_delay() {
        // SAFETY: reads one of the allocator's options, by its number.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(
            delay, 1000,
            "mimalloc 3's default purge delay, in milliseconds"
        );
    }
}
