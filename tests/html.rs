//! `--format html` in a real browser: headless Chromium opens the report, runs its script,
//! and the tests read the DOM it leaves (findings, owners, statuses, the filter from the
//! address's fragment), its console (no error, no blocked content) and a screenshot. Hostile
//! names (a file called `<img src=x onerror=...>.env`, a rule whose description closes a
//! script) must be text.
//!
//! Chromium is Debian's `chromium` (`.ci/run` installs it; `SPRAWL_CHROMIUM` names another
//! binary). Without one the tests say so and pass, unless `SPRAWL_REQUIRE_BROWSER` is set,
//! as `.ci/run` does.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use common::{Repo, token};

fn sprawl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprawl"))
}

fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("SPRAWL_CHROMIUM")
        .map(|c| vec![PathBuf::from(c)])
        .unwrap_or_else(|| {
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .map(PathBuf::from)
                .collect()
        });
    let found = candidates.into_iter().find(|c| {
        Process::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("SPRAWL_REQUIRE_BROWSER").is_none(),
            "SPRAWL_REQUIRE_BROWSER is set but no chromium was found (apt-get install chromium)"
        );
        eprintln!("note: no chromium found; the browser tests check the HTML only");
    }
    found
}

/// What the browser saw: the DOM after the page's script ran, and its console.
struct Opened {
    dom: String,
    console: Vec<String>,
}

fn open(browser: &Path, page: &Path, fragment: &str, screenshot: Option<&Path>) -> Opened {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Process::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,1600",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(png) => cmd.arg(format!("--screenshot={}", png.display())),
        None => cmd.arg("--dump-dom"),
    };
    let url = format!("file://{}{fragment}", page.display());
    let out = cmd.arg(url).output().expect("chromium runs");
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    Opened {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
    }
}

fn report(dir: &Path, out: &Path, extra: &[&str]) {
    let status = sprawl()
        .args([
            "scan",
            "--format",
            "html",
            "--quiet",
            "--now",
            "2026-12-01T00:00:00Z",
            "-o",
        ])
        .arg(out)
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        matches!(status.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Rows of credentials in the DOM, and how many the filter left visible.
fn rows(dom: &str) -> (usize, usize) {
    let tags: Vec<&str> = dom
        .split("<tr class=\"cred\"")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(""))
        .collect();
    let visible = tags.iter().filter(|t| !t.contains(" hidden")).count();
    (tags.len(), visible)
}

#[test]
fn the_lifecycle_report_opens_and_filters_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    report(&fixtures().join("lifecycle"), &page, &[]);
    let html = std::fs::read_to_string(&page).unwrap();
    // Nothing to fetch: no links, sources, imports or CSS urls (findings may name URLs as text).
    for loader in ["<link", " src=\"", " href=\"", "url(", "@import"] {
        assert!(!html.contains(loader), "the page loads something: {loader}");
    }
    assert!(html.contains("default-src 'none'"));
    let Some(browser) = chromium() else { return };

    let opened = open(&browser, &page, "", None);
    assert!(opened.console.is_empty(), "console: {:#?}", opened.console);
    let dom = &opened.dom;
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not run"
    );
    assert!(dom.contains("Showing 10 of 10 credentials"), "{dom}");
    for owner in [
        "no owner",
        "payments",
        "platform",
        "legacy-bot (offboarded)",
    ] {
        assert!(
            dom.contains(&format!("data-owner=\"{owner}\"")),
            "owner {owner}"
        );
    }
    for status in [
        "orphaned",
        "expired",
        "long-lived",
        "owned",
        "ambiguous-owner",
    ] {
        assert!(
            dom.contains(&format!("<span class=\"badge {status}\">")),
            "status {status}"
        );
    }
    assert!(dom.contains("GitHub personal access token (classic)"));
    // Orphaned first: the group without an owner comes before every owner's.
    assert!(dom.find("data-owner=\"no owner\"") < dom.find("data-owner=\"payments\""));

    // The filter, set from the address: only orphaned rows stay visible.
    let opened = open(&browser, &page, "#status=orphaned", None);
    assert!(opened.console.is_empty(), "console: {:#?}", opened.console);
    assert!(
        opened.dom.contains("Showing 7 of 10 credentials"),
        "{}",
        opened.dom
    );
    assert_eq!(rows(&opened.dom), (10, 7));
    let opened = open(&browser, &page, "#owner=payments&path=ci", None);
    assert!(
        opened.dom.contains("Showing 1 of 10 credentials"),
        "{}",
        opened.dom
    );

    let png = dir.path().join("report.png");
    let shot = open(&browser, &page, "", Some(&png));
    assert!(shot.console.is_empty(), "console: {:#?}", shot.console);
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000);
}

#[test]
fn a_history_report_opens_with_commits_and_dates() {
    let (repo, added) = Repo::with_a_removed_token();

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("history.html");
    report(&repo.path, &page, &["--history", "--no-cache"]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(&format!("commit {} 2024-02-01", &added[..12])),
        "{html}"
    );
    assert!(
        html.contains("Ann Example &lt;ann@corp.test&gt;"),
        "the commit author as owner hint"
    );
    let Some(browser) = chromium() else { return };
    let opened = open(&browser, &page, "", None);
    assert!(opened.console.is_empty(), "console: {:#?}", opened.console);
    assert!(opened.dom.contains("Showing 1 of 1 credentials"));
    assert!(opened.dom.contains("commit-author") || opened.dom.contains("introduced it"));
}

#[test]
fn hostile_names_are_text_not_markup() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join("<img src=x onerror=document.body.dataset.pwned=1>.env"),
        format!("GH_TOKEN={}\n", token()),
    )
    .unwrap();
    std::fs::write(
        project.join("values.yaml"),
        "\"</script><script>document.body.dataset.pwned=2</script>\":\n  token: XSSTEST_a8Kq2Zt7Lm4Rx9Vc3Nb6\n",
    )
    .unwrap();
    let rules = dir.path().join("hostile.toml");
    std::fs::write(
        &rules,
        r#"[[rules]]
id = "hostile-rule"
name = "<b onmouseover=document.body.dataset.pwned=3>hostile</b>"
provider = "</script><img src=x onerror=document.body.dataset.pwned=4>"
kind = "token"
keywords = ["XSSTEST_"]
pattern = '''(?P<secret>XSSTEST_[A-Za-z0-9]{20})'''
description = "</script><script>document.body.dataset.pwned=5</script>"
"#,
    )
    .unwrap();
    let page = dir.path().join("hostile.html");
    report(&project, &page, &["--rules", rules.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("&lt;img src=x onerror=document.body.dataset.pwned=1&gt;.env"));
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned=5"));
    // Only the page's own script tag, once.
    assert_eq!(html.matches("<script>").count(), 1);
    assert_eq!(html.matches("</script>").count(), 1);
    let Some(browser) = chromium() else { return };
    let opened = open(&browser, &page, "", None);
    assert!(
        !opened.dom.contains("data-pwned"),
        "a hostile name ran as script"
    );
    assert!(
        opened.console.is_empty(),
        "console (blocked content?): {:#?}",
        opened.console
    );
    assert!(
        opened.dom.contains("Showing 2 of 2 credentials"),
        "{}",
        opened.dom
    );
    // Clicking is not needed for the mouseover one: it is text, not an element.
    assert!(!opened.dom.contains("<b onmouseover"));
}

#[test]
fn show_secrets_is_refused_for_html() {
    let out = sprawl()
        .args(["scan", "--format", "html", "--show-secrets"])
        .arg(fixtures().join("positives"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("redacted only"));
}
