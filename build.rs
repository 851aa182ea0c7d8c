//! Embeds the runtime crate's sources, so `mcpgen build` can vendor them into every generated
//! crate. The list is read from `runtime/` at build time: a file added there is vendored
//! without anyone having to remember a list.

use std::fs;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let runtime = root.join("runtime");
    println!("cargo:rerun-if-changed=runtime/src");
    println!("cargo:rerun-if-changed=runtime/Cargo.toml");
    let mut files = Vec::new();
    collect(&runtime.join("src"), &mut files);
    files.push(runtime.join("Cargo.toml"));
    let mut entries: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&runtime)
                .expect("under runtime/")
                .to_string_lossy()
                .replace('\\', "/");
            (relative, path)
        })
        .collect();
    entries.sort();
    let mut code = String::from(
        "/// The runtime crate's files: (path inside the crate, contents).\npub const RUNTIME_FILES: &[(&str, &str)] = &[\n",
    );
    for (relative, path) in entries {
        code.push_str(&format!(
            "    ({relative:?}, include_str!({:?})),\n",
            path.to_string_lossy()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("runtime_files.rs");
    fs::write(out, code).expect("OUT_DIR is writable");
}
