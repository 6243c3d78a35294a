//! Helpers shared by the end-to-end tests.

use std::path::Path;
use std::process::Command;

/// Runs the git CLI in `dir` with a fixed author, committer and date, no system or user
/// configuration (HOME = `home`), no signing and no hooks; panics with git's stderr on
/// failure and returns its stdout.
pub fn git(dir: &Path, home: &Path, args: &[&str], date: &str) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(["-c", "core.hooksPath=/dev/null"])
        .args(args)
        .env("GIT_AUTHOR_NAME", "Ann Example")
        .env("GIT_AUTHOR_EMAIL", "ann@corp.test")
        .env("GIT_COMMITTER_NAME", "Ann Example")
        .env("GIT_COMMITTER_EMAIL", "ann@corp.test")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("git prints UTF-8")
}

/// A git repository in a temporary folder (`path`), with its own empty HOME; every git
/// call gets the same author and the date it is given.
pub struct Repo {
    _dir: tempfile::TempDir,
    pub home: std::path::PathBuf,
    pub path: std::path::PathBuf,
}

#[allow(dead_code)] // each test crate uses its own subset
impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let path = dir.path().join("repo");
        std::fs::create_dir(&home).unwrap();
        std::fs::create_dir(&path).unwrap();
        let repo = Repo {
            _dir: dir,
            home,
            path,
        };
        repo.git(&["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
        repo
    }

    /// A new repository at `path` (created), for tests that lay several side by side.
    #[allow(dead_code)] // each test crate uses its own subset
    pub fn at(path: &Path) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::create_dir_all(path).unwrap();
        let repo = Repo {
            _dir: dir,
            home,
            path: path.to_path_buf(),
        };
        repo.git(&["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
        repo
    }

    pub fn git(&self, args: &[&str], date: &str) -> String {
        git(&self.path, &self.home, args, date)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let file = self.path.join(rel);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    /// Commits everything with both dates set to `date`; returns the commit id.
    pub fn commit(&self, message: &str, date: &str) -> String {
        self.git(&["add", "-A"], date);
        self.git(&["commit", "-q", "--allow-empty", "-m", message], date);
        self.git(&["rev-parse", "HEAD"], date).trim().to_string()
    }
}

impl Repo {
    /// A history whose second commit (returned) adds a GitHub token in `deploy/ci.env` on
    /// 2024-02-01 and whose third removes it, by Ann Example.
    #[allow(dead_code)] // each test crate uses its own subset
    pub fn with_a_removed_token() -> (Repo, String) {
        let repo = Repo::new();
        repo.write("README.md", "hello\n");
        repo.commit("start", "2024-01-01T00:00:00Z");
        repo.write("deploy/ci.env", &format!("GH_TOKEN={}\n", token()));
        let added = repo.commit("add token", "2024-02-01T00:00:00Z");
        std::fs::remove_file(repo.path.join("deploy/ci.env")).unwrap();
        repo.commit("remove token", "2024-03-01T00:00:00Z");
        (repo, added)
    }
}

/// A fake GitHub token with a valid checksum, from the generated fixtures.
#[allow(dead_code)] // each test crate uses its own subset
pub fn token() -> String {
    let text = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/positives/src/config.js"),
    )
    .unwrap();
    let start = text.find("ghp_").unwrap();
    text[start..start + 40].to_string()
}

/// Every place of every finding in a JSON report.
#[allow(dead_code)] // each test crate uses its own subset
pub fn locations(report: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap())
}

/// A fake classic GitHub token whose last 6 characters are the base62 CRC32 of the 30 before
/// them, as GitHub issues them; the body comes from `seed`, so each test's tokens are fixed.
#[allow(dead_code)] // each test crate uses its own subset
pub fn github_token(seed: u64) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let body: String = (0..30)
        .map(|_| {
            // xorshift64: enough to look random to an entropy check.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(BASE62[(state % 62) as usize])
        })
        .collect();
    let mut crc = u64::from(crc32fast::hash(body.as_bytes()));
    let mut check = [b'0'; 6];
    for digit in check.iter_mut().rev() {
        *digit = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    format!("ghp_{body}{}", String::from_utf8_lossy(&check))
}

/// A command's exit code and output, for assertion messages.
#[allow(dead_code)] // each test crate uses its own subset
pub fn show(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The reasons of the suppressed findings of a JSON report (`--show-suppressed`).
#[allow(dead_code)] // each test crate uses its own subset
pub fn suppression_reasons(report: &serde_json::Value) -> Vec<&str> {
    report["suppressed"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s["suppression"]["reason"].as_str())
        .collect()
}

/// The body of the fenced block that follows `<!-- tested: NAME -->` in `doc`.
#[allow(dead_code)] // each test crate uses its own subset
pub fn tested_block(doc: &str, name: &str) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let marker = format!("<!-- tested: {name} -->");
    assert_eq!(
        text.matches(&marker).count(),
        1,
        "{doc} must have exactly one {marker}"
    );
    let after = &text[text.find(&marker).expect("counted above") + marker.len()..];
    let fence = after.trim_start();
    assert!(
        fence.starts_with("```"),
        "{marker} must be followed by a fenced block"
    );
    let body = &fence[fence.find('\n').expect("a fence line ends") + 1..];
    let end = body
        .find("\n```")
        .unwrap_or_else(|| panic!("the block after {marker} is not closed"));
    body[..=end].to_string()
}
