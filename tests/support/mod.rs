//! What the tests that compile generated crates share: where they build, and the clean-up after.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target directory shared by every generated crate a test compiles
/// (`MCPGEN_GENERATED_TARGET`, default `target/generated`), so the runtime compiles once.
pub fn generated_target() -> PathBuf {
    std::env::var_os("MCPGEN_GENERATED_TARGET")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/generated"))
}

/// Removes a tested crate's own artifacts from the shared target directory: its test binaries
/// take tens to hundreds of megabytes, and a run compiles dozens of crates. (Cargo removes test
/// binaries by target name, so other crates' `tools` and `auth` tests go too; they are rebuilt
/// when needed.) A failure costs disk only, so it is reported, not raised.
pub fn drop_artifacts(crate_dir: &Path, package: &str, target: &Path) {
    let cleaned = Command::new(env!("CARGO"))
        .args(["clean", "--quiet", "-p", package])
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target)
        .status();
    if !cleaned.is_ok_and(|s| s.success()) {
        eprintln!(
            "cargo clean -p {package} failed; its artifacts stay in {}",
            target.display()
        );
    }
}
