//! `mcpgen report`: the page names every tool with what it can do and what leaves the server,
//! escapes every text, puts breaking changes first, and renders in a real browser (Debian's
//! Chromium) without a single request leaving the page.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::Mutex;

fn mcpgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(args)
        .output()
        .unwrap()
}

fn report(dir: &Path, name: &str, extra: &[&str]) -> String {
    let out = dir.join(name);
    let mut args = vec!["report", "-c", "tests/report/mcpgen.yaml", "-o"];
    args.push(out.to_str().unwrap());
    args.extend(extra);
    let output = mcpgen(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_page_says_what_each_tool_can_do_and_escapes_every_text() {
    let dir = scratch("report-escapes");
    let page = report(&dir, "report.html", &[]);
    // The engine escapes `/` too (`&#x2f;`), which a browser shows as `/`.
    let text = page.replace("&#x2f;", "/");
    // What a board reads, per tool.
    for needle in [
        "<code>get_user</code>",
        "<code>GET /users/{id}</code>",
        "<code>send_anything</code>",
        r#"<span class="badge write">write</span> <span class="badge destructive">destructive</span>"#,
        "<td>required</td>",
        "<code>users:read</code>",
        "<code>/emailAddress</code> masked but its last 3 characters",
        "<code>/contact</code> removed",
        "<li><code>/id</code></li>",
        "service_account",
    ] {
        assert!(text.contains(needle), "{needle} in {page}");
    }
    // Texts from the spec and the annotation file arrive as text.
    for raw in ["<script", "<img", "<a href", "<b>scope"] {
        assert!(!page.contains(raw), "{raw} left unescaped");
    }
    assert!(text.contains("&lt;img src=&quot;http://report-probe.invalid"));
    assert!(text.contains("&lt;b&gt;scope&lt;/b&gt;"));
    // Nothing is loaded from anywhere, and the browser is told so.
    assert!(page.contains(
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">"#
    ));
    for attribute in ["src=\"", "href=\"", "url("] {
        assert!(!page.contains(attribute), "{attribute} in the page");
    }
    // Lint findings are listed, by tool.
    assert!(page.contains("lint-write-without-confirmation") || page.contains("lint-html"));
    // The same inputs give the same bytes.
    assert_eq!(page, report(&dir, "again.html", &[]));
}

#[test]
fn changes_against_an_earlier_contract_come_breaking_first() {
    let dir = scratch("report-against");
    let built = dir.join("built");
    let output = mcpgen(&[
        "build",
        "-c",
        "tests/report/mcpgen.yaml",
        "-o",
        built.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The earlier contract called `get_user` `find_user` (breaking: a rename) and had no
    // `send_anything` (compatible: a tool added).
    let text = std::fs::read_to_string(built.join("mcp-contract.json")).unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tools = old["tools"].as_object_mut().unwrap();
    assert!(tools.shift_remove("send_anything").is_some());
    let get_user = tools.shift_remove("get_user").unwrap();
    tools.insert("find_user".to_owned(), get_user);
    let old = serde_json::to_string_pretty(&old).unwrap();
    let old_path = dir.join("old-contract.json");
    std::fs::write(&old_path, old).unwrap();
    let page = report(
        &dir,
        "report.html",
        &["--against", old_path.to_str().unwrap()],
    );
    let changes = page
        .split("id=\"changes\"")
        .nth(1)
        .expect("a changes section");
    let breaking = changes
        .find("badge breaking\">breaking")
        .expect("a breaking change");
    let compatible = changes
        .find("badge compatible\">compatible")
        .expect("a compatible change");
    assert!(breaking < compatible, "breaking first");
    assert!(changes.contains("renamed from `find_user`"), "{changes}");
    assert!(page.contains("breaking changes</div>"));
}

/// Chromium, if this machine has it; required when `MCPGEN_CHROMIUM=1` (as `scripts/test` sets).
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .map(PathBuf::from)
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("MCPGEN_CHROMIUM").is_none_or(|v| v != "1"),
            "MCPGEN_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)"
        );
        eprintln!("no chromium on PATH: the browser checks are skipped");
    }
    found
}

/// A proxy that records the target of every request the browser sends it (every request leaves
/// through it, loopback included), answering none.
fn recording_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let n = stream.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            // `GET http://host/path HTTP/1.1` or `CONNECT host:443 HTTP/1.1`.
            // A connection opened ahead of need and closed unused asks for nothing.
            if let Some(target) = head.split_whitespace().nth(1) {
                record.lock().unwrap().push(target.to_owned());
            }
        }
    });
    (port, seen)
}

/// The host a proxied request goes to.
fn host(target: &str) -> &str {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or("")
}

/// The browser's own traffic (time, component updates, accounts), which flags do not silence in
/// headless Chromium and no page asks for.
fn is_browser_service(host: &str) -> bool {
    ["google.com", "googleapis.com", "gstatic.com"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// Renders `page` headless: the DOM as the browser built it, with a screenshot beside the page.
fn render(browser: &Path, page: &Path, proxy: u16) -> String {
    let profile = page.with_extension("profile");
    let args = |mode: &str| {
        vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--proxy-server=http://127.0.0.1:{proxy}"),
            "--proxy-bypass-list=<-loopback>".to_owned(),
            "--window-size=1400,1600".to_owned(),
            mode.to_owned(),
            format!("file://{}", page.display()),
        ]
    };
    let shot = page.with_extension("png");
    let screenshot = Command::new(browser)
        .args(args(&format!("--screenshot={}", shot.display())))
        .output()
        .unwrap();
    assert!(
        screenshot.status.success(),
        "{}",
        String::from_utf8_lossy(&screenshot.stderr)
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot: {} bytes",
        png.len()
    );
    let dom = Command::new(browser)
        .args(args("--dump-dom"))
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[test]
fn the_page_renders_in_a_browser_and_requests_nothing() {
    let Some(browser) = chromium() else { return };
    let dir = scratch("report-browser");
    report(&dir, "report.html", &[]);
    let page = std::fs::canonicalize(dir.join("report.html")).unwrap();
    // The proxy sees what a page that does load an image asks for.
    let control = dir.join("control.html");
    std::fs::write(
        &control,
        r#"<!DOCTYPE html><html><body><h1>control</h1><img src="http://report-probe.invalid/x.png"></body></html>"#,
    )
    .unwrap();
    let (port, seen) = recording_proxy();
    render(&browser, &control, port);
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|t| host(t) == "report-probe.invalid"),
        "the proxy sees a page's requests: {seen:?}"
    );

    let (port, seen) = recording_proxy();
    let dom = render(&browser, &page, port);
    let seen = seen.lock().unwrap().clone();
    let from_page: Vec<&String> = seen
        .iter()
        .filter(|t| !is_browser_service(host(t)))
        .collect();
    assert!(from_page.is_empty(), "the report requested {from_page:?}");
    for text in [
        "Summary",
        "get_user",
        "send_anything",
        "Lint findings",
        "masked but its last 3 characters",
    ] {
        assert!(dom.contains(text), "{text} rendered");
    }
    // The hostile texts are shown, not run.
    assert!(
        dom.contains("&lt;script&gt;alert(\"title\")&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<img"), "no image element came from a text");
    eprintln!("screenshot: {}", page.with_extension("png").display());
}
