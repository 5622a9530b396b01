//! The HTML reports display in a real browser: headless Chromium (Debian's package, installed by
//! scripts/install-test-deps.sh) loads each page from disk with the network disabled, and the
//! test checks the rendered DOM and that a screenshot shows far more than a blank page does.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Ws;

fn chromium() -> Option<PathBuf> {
    if std::env::var_os("SLUICE_SKIP_BROWSER_TESTS").is_some() {
        return None;
    }
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .map(|c| Path::new("/usr/bin").join(c))
        .find(|p| p.exists());
    assert!(
        found.is_some(),
        "headless Chromium is not installed: run scripts/install-test-deps.sh (or set SLUICE_SKIP_BROWSER_TESTS=1)"
    );
    found
}

fn browser(bin: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        // No network: a page that needed one would render broken.
        .args(["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

fn screenshot_size(bin: &Path, dir: &Path, page: &Path, name: &str) -> u64 {
    let png = dir.join(format!("{name}.png"));
    let out = browser(
        bin,
        &dir.join(format!("profile-{name}")),
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,1600",
            &format!("file://{}", page.display()),
        ],
    );
    assert!(
        png.exists(),
        "no screenshot of {}: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::metadata(&png).unwrap().len()
}

#[test]
fn html_reports_render_in_headless_chromium() {
    let Some(bin) = chromium() else { return };
    let ws = Ws::new();
    ws.ok(&["synth", "tx.parquet", "--rows", "3000", "--inject", "all=0.02"]);
    ws.ok(&["add", "tx", "tx.parquet"]);
    ws.ok(&["profile", "tx@latest", "--html", "profile.html"]);
    ws.file(
        "suite.toml",
        "[[check]]\nkind = \"row_count\"\nmin = 1\n[[check]]\nkind = \"null_rate\"\ncolumn = \"amount\"\nmax = 0\n",
    );
    let _ = ws.run(&["check", "tx@latest", "--suite", "suite.toml", "--html", "checks.html"]);
    let blank = ws.file("blank.html", "<!doctype html><html><body></body></html>");

    let profile = ws.path().join("profile.html");
    let out = browser(
        &bin,
        &ws.path().join("profile-dom"),
        &["--dump-dom", &format!("file://{}", profile.display())],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        dom.matches("class=\"card\"").count(),
        20,
        "one card per column:\n{}",
        &dom[..dom.len().min(500)]
    );
    assert!(dom.matches("<svg").count() >= 15, "charts are in the rendered page");
    let checks = ws.path().join("checks.html");
    let out = browser(
        &bin,
        &ws.path().join("checks-dom"),
        &["--dump-dom", &format!("file://{}", checks.display())],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("class=\"outcome\"")
            .count(),
        2
    );

    let blank_png = screenshot_size(&bin, ws.path(), &blank, "blank");
    let profile_png = screenshot_size(&bin, ws.path(), &profile, "profile");
    assert!(
        profile_png > 5 * blank_png,
        "the profile page renders visible content ({profile_png} bytes vs {blank_png} for a blank page)"
    );
}

#[test]
fn quality_report_renders_in_headless_chromium() {
    let Some(bin) = chromium() else { return };
    let ws = Ws::new();
    ws.ok(&["synth", "tx.parquet", "--rows", "3000", "--inject", "all=0.02"]);
    ws.ok(&["add", "tx", "tx.parquet"]);
    let r = ws.json(&["quality", "tx@latest", "--fail-on", "never", "--html", "quality.html"]);
    let findings = r["tables"][0]["findings"].as_array().unwrap().len();
    assert!(findings >= 5, "{r}");
    let blank = ws.file("blank.html", "<!doctype html><html><body></body></html>");

    let page = ws.path().join("quality.html");
    let out = browser(
        &bin,
        &ws.path().join("quality-dom"),
        &["--dump-dom", &format!("file://{}", page.display())],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        dom.matches("class=\"card finding\"").count(),
        findings,
        "one card per finding:\n{}",
        &dom[..dom.len().min(500)]
    );
    assert!(dom.contains("data-check=\"near_duplicates\"") && dom.contains("class=\"list cluster\""));
    assert!(dom.matches("<svg").count() >= 3, "charts are in the rendered page");

    let blank_png = screenshot_size(&bin, ws.path(), &blank, "blank");
    let quality_png = screenshot_size(&bin, ws.path(), &page, "quality");
    assert!(
        quality_png > 5 * blank_png,
        "the quality page renders visible content ({quality_png} bytes vs {blank_png} for a blank page)"
    );
}

#[test]
fn drift_and_monitor_reports_render_in_headless_chromium() {
    let Some(bin) = chromium() else { return };
    let ws = Ws::new();
    for (i, drift) in ["0", "0", "0", "0.8"].iter().enumerate() {
        let f = format!("b{i}.parquet");
        let batch = i.to_string();
        let seed = (i + 1).to_string();
        ws.ok(&[
            "synth",
            &f,
            "--rows",
            "3000",
            "--batch",
            &batch,
            "--seed",
            &seed,
            "--covariate-drift",
            drift,
        ]);
        ws.ok(&["add", "tx", &f]);
    }
    let _ = ws.run(&["drift", "tx@v1", "tx@v4", "--html", "drift.html"]);
    let _ = ws.run(&["monitor", "tx", "--baseline", "v1", "--html", "monitor.html"]);
    let blank = ws.file("blank.html", "<!doctype html><html><body></body></html>");
    let blank_png = screenshot_size(&bin, ws.path(), &blank, "blank");
    for (name, min_charts) in [("drift", 20), ("monitor", 24)] {
        let page = ws.path().join(format!("{name}.html"));
        let out = browser(
            &bin,
            &ws.path().join(format!("{name}-dom")),
            &["--dump-dom", &format!("file://{}", page.display())],
        );
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(dom.contains("dataset drift"), "{name}: verdict rendered");
        assert!(
            dom.matches("<svg").count() >= min_charts,
            "{name}: one chart per column (and per history metric): {}",
            dom.matches("<svg").count()
        );
        let png = screenshot_size(&bin, ws.path(), &page, name);
        assert!(
            png > 5 * blank_png,
            "{name} renders visible content ({png} vs {blank_png} bytes)"
        );
    }
}

#[test]
fn feedback_loop_report_renders_in_headless_chromium() {
    let Some(bin) = chromium() else { return };
    let ws = Ws::new();
    ws.ok(&[
        "simulate",
        "feedback-loop",
        "--rounds",
        "4",
        "--users",
        "150",
        "--items",
        "30",
        "--resamples",
        "100",
        "--html",
        "loop.html",
    ]);
    let blank = ws.file("blank.html", "<!doctype html><html><body></body></html>");
    let blank_png = screenshot_size(&bin, ws.path(), &blank, "blank");
    let page = ws.path().join("loop.html");
    let out = browser(
        &bin,
        &ws.path().join("loop-dom"),
        &["--dump-dom", &format!("file://{}", page.display())],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.matches("<svg").count() >= 2,
        "the loop's charts are in the rendered page"
    );
    let png = screenshot_size(&bin, ws.path(), &page, "loop");
    assert!(
        png > 5 * blank_png,
        "the simulator page renders visible content ({png} vs {blank_png} bytes)"
    );
}
