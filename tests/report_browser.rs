//! The HTML reports in a real browser: Debian's chromium (installed by
//! scripts/browser-env, passed in MCC_BENCH_CHROMIUM by scripts/test) opens
//! a run report and a comparison report headless; no console message may
//! appear (a NaN in an SVG attribute or a script error would print one),
//! and every plot in the DOM the browser built has data marks. Screenshots
//! are kept in `<target>/tmp/report-artifacts/`.

mod bin;

use std::path::{Path, PathBuf};
use std::process::Command;

use bin::BIN;

fn chromium() -> PathBuf {
    PathBuf::from(std::env::var_os("MCC_BENCH_CHROMIUM").expect(
        "MCC_BENCH_CHROMIUM must name the chromium of scripts/browser-env (run the tests with scripts/test)",
    ))
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

/// Runs chromium headless on `page` with console logging on stderr;
/// returns (stdout, console lines).
fn browse(page: &Path, mode: &[String]) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().expect("browser profile");
    let o = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg("--enable-logging=stderr")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(mode)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&o.stdout).into_owned(), console)
}

/// Data marks (`class="pt…"`) per `data-plot` in a DOM dump.
fn marks_per_plot(dom: &str) -> Vec<(String, usize)> {
    dom.split("<svg")
        .skip(1)
        .filter_map(|chunk| {
            let name = chunk
                .split("data-plot=\"")
                .nth(1)?
                .split('"')
                .next()?
                .to_owned();
            let body = chunk.split("</svg>").next().unwrap_or("");
            Some((name, body.matches("class=\"pt").count()))
        })
        .collect()
}

/// Opens `page`, keeps a screenshot, and returns the marks per plot.
fn check_page(page: &Path, shot: &str) -> Vec<(String, usize)> {
    let png = artifacts().join(shot);
    let (_, console) = browse(
        page,
        &[
            "--window-size=1400,4000".into(),
            format!("--screenshot={}", png.display()),
        ],
    );
    assert!(
        console.is_empty(),
        "console messages while rendering {}: {console:#?}",
        page.display()
    );
    assert!(
        std::fs::metadata(&png)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "screenshot {}",
        png.display()
    );
    let (dom, console) = browse(page, &["--dump-dom".into()]);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("</html>"), "the browser built the document");
    println!("screenshot: {}", png.display());
    marks_per_plot(&dom)
}

fn sim_run(home: &Path, out: &Path, extra: &[&str]) {
    let o = Command::new(BIN)
        .args([
            "run",
            "--endpoint",
            "sim",
            "-c",
            "1,4",
            "-n",
            "40",
            "--input-tokens",
            "64",
            "--output-tokens",
            "16",
        ])
        .arg("--output-dir")
        .arg(out)
        .args(extra)
        .env("MCC_BENCH_HOME", home)
        .env("HOME", home)
        .output()
        .expect("run");
    assert!(
        o.status.success(),
        "run: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn run_and_comparison_reports_render_in_a_real_browser_with_data_in_every_plot() {
    let home = tempfile::tempdir().expect("home");
    let (a, b) = (home.path().join("a"), home.path().join("b"));
    sim_run(home.path(), &a, &[]);
    sim_run(home.path(), &b, &["--sim-error-rate", "0.1"]);
    let marks = check_page(&a.join("report.html"), "run-report.png");
    let get = |name: &str| marks.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(
        get("latency-throughput"),
        Some(4),
        "p50 and p99 at two levels: {marks:?}"
    );
    assert_eq!(get("ttft-throughput"), Some(4), "{marks:?}");
    assert_eq!(get("timeline"), Some(80), "every request: {marks:?}");
    assert!(get("ttft-histogram").is_some_and(|n| n > 0), "{marks:?}");
    assert!(get("itl-histogram").is_some_and(|n| n > 0), "{marks:?}");

    let html = std::fs::read_to_string(b.join("report.html")).expect("report b");
    assert!(
        html.contains("class=\"pt fail"),
        "failed requests are marked on the timeline"
    );
    let cmp = home.path().join("compare.html");
    let o = Command::new(BIN)
        .args(["compare", "-o"])
        .arg(&cmp)
        .arg(&a)
        .arg(&b)
        .env("MCC_BENCH_HOME", home.path())
        .output()
        .expect("compare");
    // Run b has failed requests: the regression gate fails (exit 1), and
    // the report is written all the same.
    assert_eq!(
        o.status.code(),
        Some(1),
        "compare: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("REGRESSION"));
    let marks = check_page(&cmp, "comparison-report.png");
    let get = |name: &str| marks.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(
        get("compare-latency-throughput"),
        Some(4),
        "two runs × two levels: {marks:?}"
    );
    assert_eq!(get("compare-throughput"), Some(4), "{marks:?}");
}

/// A capacity search's report: every probe on each target's chart, and
/// goodput against the load probed.
#[test]
fn a_capacity_search_report_plots_its_probes_in_a_real_browser() {
    let home = tempfile::tempdir().expect("home");
    let out = home.path().join("cap");
    let o = Command::new(BIN)
        .args([
            "capacity",
            "-e",
            "sim",
            "--sim-slots",
            "2",
            "--sim-ttft-ms",
            "10",
            "--sim-itl-ms",
            "1",
            "--input-tokens",
            "16",
            "--output-tokens",
            "10",
            "--slo",
            "ttft_p99_ms=20,error_rate=0.01",
            "--max",
            "8",
            "--json",
            "--no-progress",
        ])
        .arg("-o")
        .arg(&out)
        .env("MCC_BENCH_HOME", home.path())
        .env("HOME", home.path())
        .output()
        .expect("capacity");
    assert!(
        o.status.success(),
        "capacity: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON result");
    let probes = result["capacity"]["probes"].as_array().map_or(0, Vec::len);
    assert!(probes >= 3, "{result}");
    let marks = check_page(&out.join("report.html"), "capacity-report.png");
    let get = |name: &str| marks.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(get("probe-ttft-p99"), Some(probes), "{marks:?}");
    assert_eq!(get("probe-error-rate"), Some(probes), "{marks:?}");
    assert_eq!(
        get("probe-goodput"),
        Some(2 * probes),
        "throughput and goodput per probe: {marks:?}"
    );
}
