//! Issue 24, item 3: the dashboard in a real browser. `shifter dashboard --demo` on 127.0.0.1,
//! Debian's Chromium (headless) driven through chromedriver over WebDriver
//! (<https://www.w3.org/TR/webdriver2/>): the page opens, the live chart draws and redraws,
//! Approve on the gated demo deployment asks for confirmation and, accepted, moves it past the
//! gate. The screenshot is kept at `target/dashboard/demo.png`; first paint and the bytes the
//! page transferred are printed, and first paint must come within a second.
//!
//! `scripts/test` installs `chromium` and `chromium-driver` when they are missing. Without them
//! the test fails when `CI` is set and is skipped (saying so) otherwise.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Simulated seconds per wall second: the gated deployment reaches its gate after its 2-minute
/// first step, in about 8 s.
const SPEED: &str = "15";

/// Processes the test started, each the leader of its own process group: the whole group
/// (chromedriver's Chromium and its helpers too) is killed when the guard goes, also when the
/// test fails; then the browser profile is removed.
struct Started {
    children: Vec<Child>,
    profile: PathBuf,
}

impl Drop for Started {
    fn drop(&mut self) {
        for child in &mut self.children {
            if let Ok(group) = libc::pid_t::try_from(child.id()) {
                // SAFETY: killpg only sends a signal; the group is the child's own (process_group(0)).
                unsafe { libc::killpg(group, libc::SIGKILL) };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `name` on the PATH, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The workspace's target directory: the one the `shifter` binary under test was built in.
fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_shifter"));
    exe.ancestors()
        .nth(2)
        .expect("target/<profile>/shifter")
        .to_path_buf()
}

/// Starts `shifter dashboard --demo` on a free port of 127.0.0.1 and returns its address, read
/// from the line it prints on start.
fn start_dashboard(started: &mut Started) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shifter"))
        .args(["dashboard", "--demo", "--bind", "127.0.0.1", "--port", "0"])
        .args(["--speed", SPEED])
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("shifter dashboard starts");
    let stdout = child.stdout.take().expect("piped stdout");
    started.children.push(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the dashboard prints its address");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    url.trim_end_matches('/').to_owned()
}

/// Starts chromedriver on a free port and returns its URL once it accepts connections.
fn start_chromedriver(started: &mut Started, chromedriver: &Path) -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    started.children.push(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// Headless Chromium as this sandbox runs it: no setuid sandbox, no GPU, no /dev/shm.
async fn browser(webdriver: &str, chromium: &Path, profile: &Path) -> Client {
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1700",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": chromium, "args": args},
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .expect("a WebDriver session with headless Chromium")
}

/// Runs `script` (a function body returning a value) until it returns something other than
/// null or false, for at most `secs` seconds.
async fn until(client: &Client, what: &str, secs: u64, script: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let value = client.execute(script, vec![]).await.expect("script runs");
        if !(value.is_null() || value == Value::Bool(false)) {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {secs}s for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The chart's `src` once the image has loaded and has a size (drawn), else null.
const CHART_DRAWN: &str = "const i = document.getElementById('chart'); \
    return i.src && i.complete && i.naturalWidth > 0 ? i.src : null;";

/// The weight the page says is observed on the new version, once it is 50 % or more (past the
/// gate of the 10 % step), else null.
const PAST_THE_GATE: &str = "const m = /observed (\\d+(?:\\.\\d+)?)/\
    .exec(document.getElementById('weights').textContent); \
    return m && Number(m[1]) >= 50 ? Number(m[1]) : null;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_dashboard_in_chromium_approves_the_gated_deployment() {
    let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
    else {
        let why = "chromium and chromedriver are not on PATH (scripts/test installs Debian's \
                   chromium and chromium-driver)";
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}; CI must not skip the browser test"
        );
        eprintln!("SKIPPED the_demo_dashboard_in_chromium_approves_the_gated_deployment: {why}");
        return;
    };
    let out = target_dir().join("dashboard");
    std::fs::create_dir_all(&out).unwrap();
    let mut started = Started {
        children: Vec::new(),
        profile: out.join(format!("profile-{}", std::process::id())),
    };
    let url = start_dashboard(&mut started);
    let webdriver = start_chromedriver(&mut started, &chromedriver);
    let client = browser(&webdriver, &chromium, &started.profile).await;
    let outcome = tokio::time::timeout(Duration::from_secs(240), drive(&client, &url, &out)).await;
    let _ = client.close().await;
    outcome.expect("the browser test finished within 4 minutes");
}

async fn drive(client: &Client, url: &str, out: &Path) {
    client
        .goto(&format!("{url}/"))
        .await
        .expect("the page opens");
    let paint = first_paint(client).await;
    let first = until(client, "the first chart", 60, CHART_DRAWN).await;
    println!("chart drawn: {first}");
    client
        .find(Locator::XPath(
            "//ul[@id='list']/li[starts-with(., 'orders-v2 ')]",
        ))
        .await
        .expect("orders-v2 is listed")
        .click()
        .await
        .expect("orders-v2 selected");
    let gated = "const i = document.getElementById('chart'); \
        return i.complete && i.naturalWidth > 0 && i.src.includes('/orders-v2/') ? i.src : null;";
    let before = until(client, "orders-v2's chart", 30, gated).await;
    approve(client).await;
    let moved = until(client, "orders-v2 past its gate", 60, PAST_THE_GATE).await;
    println!("observed weight after the approval: {moved} %");
    let redrawn = format!(
        "const i = document.getElementById('chart'); \
         return i.complete && i.naturalWidth > 0 && i.src !== {before} ? i.src : null;"
    );
    let after = until(client, "the chart redrawn past the gate", 30, &redrawn).await;
    println!("chart redrawn: {after}");
    let shot = client.screenshot().await.expect("a screenshot");
    let path = out.join("demo.png");
    std::fs::write(&path, shot).unwrap();
    println!("screenshot: {}", path.display());
    transferred(client, url).await;
    assert!(
        paint < 1000.0,
        "first paint took {paint} ms (must be under 1 s)"
    );
}

/// Waits for the gate, presses Approve, checks the confirmation names the deployment, accepts
/// it, and waits for the server's answer on the page. A gate re-parks with a new token every
/// 30 simulated seconds (2 s here): an answer sent as that happens finds it "not waiting", as
/// `shifter approve` would, and the button is pressed again.
async fn approve(client: &Client) {
    let enabled = "const b = document.getElementById('approve'); \
        return !b.disabled && document.getElementById('title').textContent.startsWith('orders-v2');";
    for _ in 0..5 {
        until(client, "Approve to be offered on orders-v2", 90, enabled).await;
        client
            .execute("document.getElementById('answer').className = '';", vec![])
            .await
            .expect("answer cleared");
        client
            .find(Locator::Id("approve"))
            .await
            .expect("the Approve button")
            .click()
            .await
            .expect("Approve clicked");
        let question = confirmation(client).await;
        assert_eq!(question, "Really approve orders-v2?");
        client.accept_alert().await.expect("confirmation accepted");
        let answered = "const a = document.getElementById('answer'); \
            return a.className ? [a.className, a.textContent] : null;";
        let answer = until(client, "the server's answer", 30, answered).await;
        if answer[0] == "good" {
            assert_eq!(answer[1], "approve: answered Await Approval", "{answer}");
            return;
        }
        let text = answer[1].as_str().unwrap_or_default();
        assert!(text.contains("not waiting"), "approval refused: {text}");
    }
    panic!("the gate never took the approval");
}

/// The text of the confirmation the page asks, once it is open.
async fn confirmation(client: &Client) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.get_alert_text().await {
            Ok(text) => return text,
            Err(e) => assert!(Instant::now() < deadline, "no confirmation asked: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// First paint and first contentful paint (ms after navigation start, Paint Timing:
/// <https://www.w3.org/TR/paint-timing/>), printed; returns first paint.
async fn first_paint(client: &Client) -> f64 {
    let script = "if (document.readyState !== 'complete') return null; \
        const p = {}; for (const e of performance.getEntriesByType('paint')) p[e.name] = e.startTime; \
        return p['first-paint'] !== undefined && p['first-contentful-paint'] !== undefined ? p : null;";
    let paint = until(client, "the paint timings", 30, script).await;
    let first = paint["first-paint"].as_f64().expect("first-paint");
    let contentful = paint["first-contentful-paint"]
        .as_f64()
        .expect("first-contentful-paint");
    println!("first paint: {first:.0} ms, first contentful paint: {contentful:.0} ms");
    first
}

/// The bytes the page transferred (Resource Timing's transferSize:
/// <https://www.w3.org/TR/resource-timing/#dom-performanceresourcetiming-transfersize>): the
/// document, each resource, and the total, printed. Every resource comes from the dashboard
/// itself: nothing from a CDN.
async fn transferred(client: &Client, url: &str) {
    let script = "const n = performance.getEntriesByType('navigation')[0]; \
        return [[n.name, n.transferSize, n.encodedBodySize]].concat(performance \
            .getEntriesByType('resource').map(r => [r.name, r.transferSize, r.encodedBodySize]));";
    let entries = client
        .execute(script, vec![])
        .await
        .expect("resource timings");
    let entries = entries.as_array().expect("a list");
    let (mut page, mut charts) = (0, 0);
    for entry in entries {
        let name = entry[0].as_str().unwrap_or_default();
        assert!(
            name.starts_with(&format!("{url}/")),
            "{name} is not served by the dashboard"
        );
        let bytes = entry[1].as_u64().unwrap_or_default();
        println!("  {bytes:>7} B  (body {:>7} B)  {name}", entry[2]);
        let path = &name[url.len()..];
        if path.contains("/chart.svg") {
            charts += bytes;
        } else if path == "/" || path == "/app.js" || path == "/style.css" {
            page += bytes;
        }
    }
    let all: u64 = entries.iter().filter_map(|e| e[1].as_u64()).sum();
    println!(
        "page (HTML, script, style): {page} B; chart SVGs: {charts} B; all transferred: {all} B"
    );
    assert!(page > 0, "nothing transferred for the page itself");
}
