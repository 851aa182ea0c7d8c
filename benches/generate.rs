//! Generation speed and memory: `cargo bench --bench generate`.
//!
//! Cases, each with every operation selected (as `init --select all` writes):
//! - `twilio-api-v2010.json`, the largest spec of the corpus (1.8 MB, 197 operations);
//! - `mulesoft-anypoint-access-management.yaml`, the one with most operations (267);
//! - a synthetic 3,152-operation spec (the Twilio spec's paths repeated under 16 prefixes, as
//!   big as the largest enterprise CRM specs).
//!
//! Each case runs in a child process (this binary re-run with `--case`), so the peak resident
//! memory it reports (`VmHWM`) is the case's own; it allocates as the `mcpgen` binary does
//! (mimalloc, returning freed memory after 10 ms). Times are medians of several runs: generation
//! (load, lower, emit, in memory; target under 2 s) and, separately, writing the files to a
//! temporary directory (which depends mostly on the file system).
//! With `MCPGEN_BENCH_COMPILE=1` it also runs `cargo check` on the 3,152-tool crate (sharing
//! the repository's runtime) and reports how long that takes.

use mcpgen::emit::{EmitOptions, RuntimeSource};
use mcpgen::init::{Select, starter_file};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const COPIES: usize = 16;

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

/// Writes the synthetic spec into `dir` and returns its path.
fn synthetic(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(corpus("twilio-api-v2010.json")).unwrap();
    let mut spec: Value = serde_json::from_str(&text).unwrap();
    let paths = spec["paths"].as_object().unwrap().clone();
    let mut all = serde_json::Map::new();
    for copy in 0..COPIES {
        for (path, item) in &paths {
            let mut item = item.clone();
            for op in item.as_object_mut().unwrap().values_mut() {
                if let Some(id) = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                {
                    op["operationId"] = Value::String(format!("{id}Copy{copy}"));
                }
            }
            all.insert(format!("/copy{copy}{path}"), item);
        }
    }
    spec["paths"] = Value::Object(all);
    let path = dir.join("synthetic-crm.json");
    std::fs::write(&path, serde_json::to_string(&spec).unwrap()).unwrap();
    path
}

/// The annotation file `init --select all` writes for `spec`, next to it.
fn annotate(spec: &Path) -> PathBuf {
    let dir = spec.parent().unwrap();
    let annotation = dir.join(format!(
        "{}.mcpgen.yaml",
        spec.file_name().unwrap().to_string_lossy()
    ));
    let set = mcpgen::load::load_spec(spec, dir).unwrap();
    let name = spec.file_name().unwrap().to_string_lossy().into_owned();
    let (_, text) = starter_file(&annotation, vec![(name, set)], Select::All, None);
    std::fs::write(&annotation, text).unwrap();
    annotation
}

/// One full build of `annotation` into `out`: the number of tools, the time to generate (load,
/// lower, emit) and the time to write the files.
fn build(annotation: &Path, out: &Path) -> (usize, Duration, Duration) {
    let start = Instant::now();
    let project =
        mcpgen::load::load_project(annotation).unwrap_or_else(|e| panic!("{}", e.render()));
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("runtime")
        .to_string_lossy()
        .into_owned();
    let options = EmitOptions {
        runtime: RuntimeSource::Path(runtime),
    };
    let (files, _, _) =
        mcpgen::generate_with(project, &options).unwrap_or_else(|e| panic!("{}", e.render()));
    let generated = start.elapsed();
    let _ = std::fs::remove_dir_all(out);
    let start = Instant::now();
    mcpgen::write::write(out, &files).unwrap();
    (
        String::from_utf8_lossy(&files["src/tools.rs"].to_vec())
            .matches("\npub mod ")
            .count(),
        generated,
        start.elapsed(),
    )
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Child process: prepares and measures one case, prints one JSON line.
fn run_case(case: &str, work: &Path) {
    let spec = match case {
        "synthetic" => synthetic(work),
        name => {
            let copy = work.join(name);
            std::fs::copy(corpus(name), &copy).unwrap();
            copy
        }
    };
    let annotation = annotate(&spec);
    let out = work.join("out");
    let mut times = Vec::new();
    let mut writes = Vec::new();
    let mut tools = 0;
    for _ in 0..RUNS {
        let (count, generated, written) = build(&annotation, &out);
        tools = count;
        times.push(generated);
        writes.push(written);
    }
    times.sort();
    writes.sort();
    let median = times[RUNS / 2];
    let bytes = std::fs::metadata(&spec).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({"case": case, "spec_mb": bytes as f64 / 1e6, "tools": tools, "median_ms": median.as_millis(), "min_ms": times[0].as_millis(), "write_ms": writes[RUNS / 2].as_millis(), "peak_rss_mb": peak_rss_kb() / 1024, "out": out})
    );
}

/// The allocator the `mcpgen` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    mcpgen::return_freed_memory_promptly();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        run_case(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    let cases = [
        "twilio-api-v2010.json",
        "mulesoft-anypoint-access-management.yaml",
        "synthetic",
    ];
    println!(
        "generate = load + lower + emit, in memory (target: under 2 s); write = writing the files"
    );
    println!(
        "{:<44} {:>8} {:>6} {:>13} {:>10} {:>9} {:>9}",
        "case", "spec MB", "tools", "generate ms", "min ms", "write ms", "peak MB"
    );
    let mut last_out = None;
    let work = tempfile::tempdir().unwrap();
    for case in cases {
        let dir = work.path().join(case.replace('.', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--case", case, dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line: Value = serde_json::from_slice(output.stdout.trim_ascii()).unwrap();
        let ms = line["median_ms"].as_u64().unwrap_or(0);
        println!(
            "{:<44} {:>8.1} {:>6} {:>13} {:>10} {:>9} {:>9}{}",
            case,
            line["spec_mb"].as_f64().unwrap_or(0.0),
            line["tools"],
            ms,
            line["min_ms"],
            line["write_ms"],
            line["peak_rss_mb"],
            if Duration::from_millis(ms) > Duration::from_secs(2) {
                "  over the 2 s target"
            } else {
                ""
            }
        );
        last_out = line["out"].as_str().map(PathBuf::from);
    }
    if std::env::var_os("MCPGEN_BENCH_COMPILE").is_some()
        && let Some(out) = last_out
    {
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/generated");
        let start = Instant::now();
        let status = Command::new(env!("CARGO"))
            .args(["check", "--locked", "--quiet"])
            .current_dir(&out)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "the synthetic crate does not compile");
        println!(
            "cargo check of the synthetic crate: {:.1} s (runtime and dependencies already built)",
            start.elapsed().as_secs_f64()
        );
    }
}
