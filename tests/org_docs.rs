//! The organisation scan is tested as documented: docs/org-scan.md's blocks marked
//! `<!-- tested: NAME -->` (the GitHub workflow, the Kubernetes Jobs, the local run), the
//! GitHub Action (`action.yml`), the release workflow (`.github/workflows/release.yml`) and
//! the install blocks of docs/ci.md are parsed and checked against each other: the Action
//! downloads only archives the release builds, every `sprawl` command in them uses only flags
//! the built sprawl has (from its `--help`), and the workflow's steps and the local script run
//! against three scratch repositories (one token shared by two of them), with the sprawl just
//! built first on PATH. The Action's shell runs with a stand-in `sprawl` or `curl`, so what it
//! builds and downloads is checked without a network.

mod common;

use common::{github_token, show, tested_block, token};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SHARD: &str = "${{ matrix.shard }}";

/// The five release targets and their archive's extension.
const TARGETS: [(&str, &str); 5] = [
    ("x86_64-unknown-linux-musl", "tar.gz"),
    ("aarch64-unknown-linux-musl", "tar.gz"),
    ("x86_64-apple-darwin", "tar.gz"),
    ("aarch64-apple-darwin", "tar.gz"),
    ("x86_64-pc-windows-msvc", "zip"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every fenced block of `doc` as (language, body).
fn fenced_blocks(doc: &str) -> Vec<(String, String)> {
    let text = read(doc);
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        let fence = line.trim_start();
        match open.take() {
            None if fence.starts_with("```") => {
                open = Some((
                    fence.trim_start_matches('`').trim().to_string(),
                    String::new(),
                ));
            }
            None => {}
            Some(block) if fence.starts_with("```") => blocks.push(block),
            Some((lang, mut body)) => {
                body.push_str(line);
                body.push('\n');
                open = Some((lang, body));
            }
        }
    }
    assert!(open.is_none(), "{doc}: a fenced block is not closed");
    blocks
}

fn yaml(text: &str, what: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or_else(|e| panic!("{what} is not YAML: {e}"))
}

/// The documents of a multi-document YAML text (split on lines that are exactly `---`).
fn yaml_documents(text: &str, what: &str) -> Vec<Value> {
    let mut documents = vec![String::new()];
    for line in text.lines() {
        if line == "---" {
            documents.push(String::new());
        } else {
            let last = documents.last_mut().expect("starts with one");
            last.push_str(line);
            last.push('\n');
        }
    }
    documents
        .iter()
        .filter(|d| !d.trim().is_empty())
        .enumerate()
        .map(|(i, d)| yaml(d, &format!("{what}, document {}", i + 1)))
        .collect()
}

fn action() -> Value {
    yaml(&read("action.yml"), "action.yml")
}

fn release() -> Value {
    yaml(
        &read(".github/workflows/release.yml"),
        ".github/workflows/release.yml",
    )
}

fn org_workflow() -> Value {
    yaml(
        &tested_block("docs/org-scan.md", "org-workflow"),
        "the org-workflow block",
    )
}

fn k8s_jobs() -> Vec<Value> {
    yaml_documents(
        &tested_block("docs/org-scan.md", "org-k8s"),
        "the org-k8s block",
    )
}

fn array<'a>(value: &'a Value, what: &str) -> &'a Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{what} is not a list: {value}"))
}

/// A scalar of a workflow as GitHub reads it: a string (`true` and `3` included).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn steps<'a>(workflow: &'a Value, job: &str) -> &'a Vec<Value> {
    array(
        &workflow["jobs"][job]["steps"],
        &format!("jobs.{job}.steps"),
    )
}

/// The one step of `steps` for which `pick` holds.
fn step<'a>(steps: &'a [Value], what: &str, pick: impl Fn(&Value) -> bool) -> &'a Value {
    let found: Vec<&Value> = steps.iter().filter(|s| pick(s)).collect();
    assert_eq!(found.len(), 1, "one step {what}: {found:?}");
    found[0]
}

fn uses(step: &Value) -> &str {
    step["uses"].as_str().unwrap_or_default()
}

fn run(step: &Value) -> &str {
    step["run"].as_str().unwrap_or_default()
}

/// Whether a step uses this repository's Action (`acme/sprawl@v1`, `<org>/sprawl@v0.1.0`).
fn is_sprawl_action(step: &Value) -> bool {
    uses(step).contains("/sprawl@")
}

/// Every string in a YAML value, at any depth.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Every list of strings in a YAML value that starts with `sprawl` (an exec-form
/// `command:` or `args:`).
fn exec_commands(value: &Value, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Array(items) => {
            let words: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if words.len() == items.len() && words.first().is_some_and(|w| is_sprawl(w)) {
                out.push(words);
            }
            items.iter().for_each(|v| exec_commands(v, out));
        }
        Value::Object(map) => map.values().for_each(|v| exec_commands(v, out)),
        _ => {}
    }
}

fn is_sprawl(word: &str) -> bool {
    word == "sprawl" || word.ends_with("/sprawl")
}

/// `${{ … }}` expressions replaced by a plain word: they are values, never flags.
fn without_expressions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        out.push_str("EXPR");
        rest = match rest[start..].find("}}") {
            Some(end) => &rest[start + end + 2..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// The `sprawl …` command lines of a shell script, each as its words (quotes removed, up to
/// the first shell operator, redirection or comment): continued lines are joined and
/// `${{ … }}` expressions read as values. A `sprawl` word counts when a subcommand or a flag
/// follows it, so `tar -xzf a.tgz sprawl` and `cp target/…/sprawl stage/` do not.
fn shell_commands(script: &str) -> Vec<Vec<String>> {
    let joined = without_expressions(script).replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            if !is_sprawl(word.trim_matches(|c| c == '"' || c == '\'')) {
                continue;
            }
            let mut command = vec!["sprawl".to_string()];
            for word in &words[i + 1..] {
                if word.starts_with('#')
                    || ["|", "||", "&&", "&", ";", ")", "<", "done", "fi"].contains(word)
                    || word.starts_with('>')
                    || word.starts_with("2>")
                {
                    break;
                }
                let ends = word.ends_with(';') || (word.ends_with('&') && !word.ends_with("&&"));
                let word = word.trim_end_matches([';', '&']);
                command.push(word.trim_matches(|c| c == '"' || c == '\'').to_string());
                if ends {
                    break;
                }
            }
            let follows = command.get(1).map(String::as_str).unwrap_or_default();
            let subcommand = !follows.is_empty() && follows.chars().all(|c| c.is_ascii_lowercase());
            if follows.starts_with('-') || subcommand {
                commands.push(command);
            }
        }
    }
    commands
}

/// The `--help` texts of the built sprawl, by subcommand path.
struct Help {
    texts: HashMap<Vec<String>, String>,
}

impl Help {
    fn new() -> Help {
        Help {
            texts: HashMap::new(),
        }
    }

    fn of(&mut self, path: &[String]) -> &str {
        self.texts.entry(path.to_vec()).or_insert_with(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_sprawl"))
                .args(path)
                .arg("--help")
                .output()
                .expect("sprawl runs");
            assert_eq!(
                out.status.code(),
                Some(0),
                "sprawl {} --help: {}",
                path.join(" "),
                show(&out)
            );
            String::from_utf8(out.stdout).expect("help is UTF-8")
        })
    }

    /// The subcommands a help text lists under `Commands:`.
    fn subcommands(help: &str) -> Vec<String> {
        help.lines()
            .skip_while(|l| l.trim() != "Commands:")
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    }

    /// The flags of `command` (words after `sprawl`) that its subcommand's help does not
    /// name; the subcommand path is every leading word that the help lists as one.
    fn unknown_flags(&mut self, command: &[String]) -> (Vec<String>, Vec<String>) {
        let mut path: Vec<String> = Vec::new();
        let mut rest = &command[1..];
        while let Some(word) = rest.first() {
            if !Help::subcommands(self.of(&path)).contains(word) {
                break;
            }
            path.push(word.clone());
            rest = &rest[1..];
        }
        let help = self.of(&path).to_string();
        let mut unknown = Vec::new();
        for word in rest {
            if word == "--" {
                break;
            }
            let flag = if let Some(long) = word.strip_prefix("--") {
                format!("--{}", long.split('=').next().unwrap_or_default())
            } else if word.len() == 2 && word.starts_with('-') && word != "-" {
                format!("{word},")
            } else {
                continue;
            };
            if !names(&help, &flag) {
                unknown.push(word.clone());
            }
        }
        (path, unknown)
    }
}

/// Whether a help text names `flag` (`--history`, or `-o,` as clap prints `-o, --output`):
/// not as the start of a longer flag (`--history` in `--history-depth`).
fn names(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        let before = help[..at].chars().next_back();
        let after = help[at + flag.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '-')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

/// The `sprawl` commands of a YAML file: in its scripts (`run:`, `sh -c` arguments) and in
/// exec-form lists.
fn yaml_commands(value: &Value) -> Vec<Vec<String>> {
    let mut texts = Vec::new();
    strings(value, &mut texts);
    let mut commands: Vec<Vec<String>> = texts.iter().flat_map(|t| shell_commands(t)).collect();
    exec_commands(value, &mut commands);
    commands
}

/// Every `sprawl` command in the documented and shipped files, with where it comes from.
fn documented_commands() -> Vec<(String, Vec<String>)> {
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |what: &str, commands: Vec<Vec<String>>| {
        found.extend(commands.into_iter().map(|c| (what.to_string(), c)));
    };
    add("action.yml", yaml_commands(&action()));
    add(".github/workflows/release.yml", yaml_commands(&release()));
    for (lang, body) in fenced_blocks("docs/org-scan.md") {
        match lang.as_str() {
            "yaml" => {
                for document in yaml_documents(&body, "a yaml block of docs/org-scan.md") {
                    add("docs/org-scan.md", yaml_commands(&document));
                }
            }
            "sh" | "bash" => add("docs/org-scan.md", shell_commands(&body)),
            _ => {}
        }
    }
    add(
        "docs/ci.md (install-action)",
        yaml_commands(&yaml(
            &tested_block("docs/ci.md", "install-action"),
            "the install-action block",
        )),
    );
    add(
        "docs/ci.md (install-binary)",
        shell_commands(&tested_block("docs/ci.md", "install-binary")),
    );
    found
}

/// The `sprawl scan` flags each use of this repository's Action passes in `with.args`.
fn action_uses() -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for (what, workflow) in [
        ("docs/org-scan.md (org-workflow)", org_workflow()),
        (
            "docs/ci.md (install-action)",
            serde_json::json!({"jobs": {"example": {"steps": yaml(
                &tested_block("docs/ci.md", "install-action"),
                "the install-action block",
            )}}}),
        ),
    ] {
        for job in workflow["jobs"].as_object().expect("jobs").keys() {
            for step in steps(&workflow, job) {
                if is_sprawl_action(step) {
                    found.push((what.to_string(), step.clone()));
                }
            }
        }
    }
    found
}

#[test]
fn every_documented_sprawl_command_uses_flags_sprawl_has() {
    let commands = documented_commands();
    let mut help = Help::new();
    let mut problems = Vec::new();
    let mut subcommands = BTreeSet::new();
    for (what, command) in &commands {
        let (path, unknown) = help.unknown_flags(command);
        if path.is_empty() && !command[1].starts_with('-') {
            continue; // prose in a description: "sprawl from its release binaries"
        }
        subcommands.insert(path.join(" "));
        if !unknown.is_empty() {
            problems.push(format!("{what}: `{}`: {unknown:?}", command.join(" ")));
        }
    }
    // The Action builds its command in an array: `args+=(--history)`.
    let action_text = read("action.yml");
    for part in action_text.split("args+=(").skip(1) {
        let words: Vec<String> = part[..part.find(')').expect("args+=( is closed")]
            .split_whitespace()
            .map(|w| w.trim_matches('"').to_string())
            .collect();
        let mut command = vec!["sprawl".to_string(), "scan".to_string()];
        command.extend(words);
        let (_, unknown) = help.unknown_flags(&command);
        if !unknown.is_empty() {
            problems.push(format!(
                "action.yml: args+=({}): {unknown:?}",
                command[2..].join(" ")
            ));
        }
    }
    // And each use of the Action passes `args` to `sprawl scan`.
    for (what, step) in action_uses() {
        let args = scalar(&step["with"]["args"]);
        let mut command = vec!["sprawl".to_string(), "scan".to_string()];
        command.extend(
            without_expressions(&args)
                .split_whitespace()
                .map(str::to_string),
        );
        let (_, unknown) = help.unknown_flags(&command);
        if !unknown.is_empty() {
            problems.push(format!("{what}: with.args `{args}`: {unknown:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "flags sprawl does not have:\n{}",
        problems.join("\n")
    );
    for expected in ["scan", "merge", ""] {
        assert!(
            subcommands.contains(expected),
            "no `sprawl {expected}` command found; found {subcommands:?} in {commands:?}"
        );
    }
}

#[test]
fn the_command_finder_reads_shell_as_documented() {
    let script = "sprawl scan --repos-from repos.txt --shard \"$i/3\" --format json -o \"shard-$i.json\" &\n\
                  sprawl merge shard-*.json \\\n  --fail-on none -o merged.json > log 2>&1\n\
                  tar -xzf \"$archive\" -C \"$HOME/.local/bin\" sprawl\n\
                  echo \"sprawl: no release\" >&2\n\
                  target/${{ matrix.target }}/release/sprawl --version\n\
                  sprawl scan --shard $((JOB_COMPLETION_INDEX + 1))/3 -o /r/s.json # --not-a-flag\n";
    let commands = shell_commands(script);
    let flags: Vec<Vec<&str>> = commands
        .iter()
        .map(|c| {
            c.iter()
                .map(String::as_str)
                .filter(|w| w.starts_with('-'))
                .collect()
        })
        .collect();
    assert_eq!(
        flags,
        vec![
            vec!["--repos-from", "--shard", "--format", "-o"],
            vec!["--fail-on", "-o"],
            vec!["--version"],
            vec!["--shard", "-o"],
        ],
        "{commands:?}"
    );
    let mut help = Help::new();
    let (path, unknown) = help.unknown_flags(&[
        "sprawl".into(),
        "scan".into(),
        "--history".into(),
        "-o".into(),
        "x".into(),
        "--fail-on=none".into(),
        "--no-such-flag".into(),
        "-Z".into(),
    ]);
    assert_eq!(path, vec!["scan".to_string()]);
    assert_eq!(
        unknown,
        vec!["--no-such-flag".to_string(), "-Z".to_string()]
    );
    let (path, unknown) = help.unknown_flags(&[
        "sprawl".into(),
        "rules".into(),
        "example".into(),
        "x".into(),
    ]);
    assert_eq!(path, vec!["rules".to_string(), "example".to_string()]);
    assert!(unknown.is_empty());
}

#[test]
fn the_org_workflow_shards_the_scan_and_merges_the_reports() {
    let workflow = org_workflow();
    let scan = &workflow["jobs"]["scan"];
    assert_eq!(
        scan["strategy"]["matrix"]["shard"],
        serde_json::json!([1, 2, 3]),
        "jobs.scan.strategy.matrix.shard"
    );
    let scan_steps = steps(&workflow, "scan");
    let sprawl = step(scan_steps, "uses the sprawl Action", is_sprawl_action);
    let args = scalar(&sprawl["with"]["args"]);
    assert!(args.contains("--repos-from repos.txt"), "{args}");
    assert!(args.contains(&format!("--shard {SHARD}/3")), "{args}");
    assert_eq!(scalar(&sprawl["with"]["history"]), "true");
    assert_eq!(scalar(&sprawl["with"]["format"]), "json");
    assert_eq!(scalar(&sprawl["with"]["paths"]), "");
    assert_eq!(scalar(&sprawl["with"]["fail-on"]), "none");
    let report = format!("sprawl-shard-{SHARD}.json");
    assert_eq!(scalar(&sprawl["with"]["output"]), report);
    let upload = step(scan_steps, "uploads the shard's report", |s| {
        uses(s) == "actions/upload-artifact@v4"
    });
    assert_eq!(scalar(&upload["with"]["path"]), report);
    assert_eq!(
        scalar(&upload["with"]["name"]),
        format!("sprawl-shard-{SHARD}")
    );
    let clone = step(scan_steps, "clones the repositories", |s| {
        run(s).contains("git clone")
    });
    assert!(
        run(clone).contains(&format!("shard={SHARD} -v shards=3")),
        "{}",
        run(clone)
    );

    let merge = &workflow["jobs"]["merge"];
    let needs = match &merge["needs"] {
        Value::String(job) => vec![job.clone()],
        other => array(other, "jobs.merge.needs")
            .iter()
            .map(scalar)
            .collect(),
    };
    assert_eq!(needs, vec!["scan".to_string()]);
    let merge_steps = steps(&workflow, "merge");
    let download = step(merge_steps, "downloads the shards' reports", |s| {
        uses(s) == "actions/download-artifact@v4"
    });
    assert_eq!(scalar(&download["with"]["pattern"]), "sprawl-shard-*");
    assert_eq!(scalar(&download["with"]["merge-multiple"]), "true");
    let merged = step(merge_steps, "merges the reports", |s| {
        run(s).contains("-o sprawl.sarif")
    });
    for wanted in [
        "sprawl merge sprawl-shard-*.json --inventory sprawl-inventory.yaml",
        "--format sarif -o sprawl.sarif",
        "--format html -o sprawl.html",
    ] {
        assert!(run(merged).contains(wanted), "{wanted}: {}", run(merged));
    }
    let sarif = step(merge_steps, "uploads the SARIF", |s| {
        uses(s) == "github/codeql-action/upload-sarif@v3"
    });
    assert_eq!(scalar(&sarif["with"]["sarif_file"]), "sprawl.sarif");
    step(merge_steps, "uploads the HTML report", |s| {
        uses(s) == "actions/upload-artifact@v4" && scalar(&s["with"]["path"]) == "sprawl.html"
    });
    // The verdict comes last, after the reports are uploaded.
    let last = merge_steps.last().expect("the merge job has steps");
    assert!(
        run(last).contains("sprawl merge sprawl-shard-*.json")
            && run(last).contains("--fail-on orphaned,live"),
        "the last step fails on the chosen statuses: {last}"
    );
}

#[test]
fn the_documented_action_uses_pass_only_inputs_the_action_has() {
    let action = action();
    let inputs = action["inputs"].as_object().expect("action.yml has inputs");
    let uses = action_uses();
    assert_eq!(uses.len(), 2, "{uses:?}");
    for (what, step) in uses {
        for key in step["with"].as_object().expect("with").keys() {
            assert!(
                inputs.contains_key(key),
                "{what}: input {key} is not in action.yml"
            );
        }
    }
    // The ci.md example reads the Action's `report` output.
    let example = tested_block("docs/ci.md", "install-action");
    assert!(example.contains("steps.sprawl.outputs.report"), "{example}");
    assert!(action["outputs"]["report"].is_object());
}

#[test]
fn the_k8s_block_is_an_indexed_job_and_a_merge_job() {
    let jobs = k8s_jobs();
    assert_eq!(jobs.len(), 2, "two documents: the scan and the merge");
    for job in &jobs {
        assert_eq!(job["kind"], "Job");
        assert_eq!(job["apiVersion"], "batch/v1");
    }
    let scan = &jobs[0]["spec"];
    assert_eq!(scan["completionMode"], "Indexed");
    assert_eq!(scan["completions"], 3);
    assert_eq!(scan["parallelism"], 3);
    let pod = &scan["template"]["spec"];
    let containers = array(&pod["containers"], "the scan Job's containers");
    assert_eq!(containers.len(), 1);
    let mut texts = Vec::new();
    strings(&containers[0], &mut texts);
    let script = texts.join("\n");
    for wanted in [
        "sprawl scan --repos-from /work/repos.txt",
        "--shard $((JOB_COMPLETION_INDEX + 1))/3",
        "--history",
        "--format json -o /reports/shard-${JOB_COMPLETION_INDEX}.json",
    ] {
        assert!(script.contains(wanted), "{wanted}: {script}");
    }
    assert_eq!(containers[0]["image"], "ghcr.io/acme/sprawl:1");
    // The clones come from an initContainer, on a volume the scan mounts at /work.
    let init = array(&pod["initContainers"], "the scan Job's initContainers");
    let mut init_texts = Vec::new();
    strings(&init[0], &mut init_texts);
    assert!(init_texts.join("\n").contains("git"), "{init_texts:?}");
    let mounts = |container: &Value| -> BTreeMap<String, String> {
        array(&container["volumeMounts"], "volumeMounts")
            .iter()
            .map(|m| (scalar(&m["mountPath"]), scalar(&m["name"])))
            .collect()
    };
    assert_eq!(
        mounts(&containers[0]).get("/work"),
        mounts(&init[0]).get("/work")
    );
    let claim = |pod: &Value, mount: &str, container: &Value| -> String {
        let volume = mounts(container)
            .get(mount)
            .cloned()
            .unwrap_or_else(|| panic!("nothing mounted at {mount}"));
        let volume = array(&pod["volumes"], "volumes")
            .iter()
            .find(|v| v["name"] == volume.as_str())
            .unwrap_or_else(|| panic!("no volume {volume}"));
        scalar(&volume["persistentVolumeClaim"]["claimName"])
    };
    let reports = claim(pod, "/reports", &containers[0]);
    assert!(!reports.is_empty(), "/reports is a PersistentVolumeClaim");

    let merge = &jobs[1]["spec"]["template"]["spec"];
    let merge_containers = array(&merge["containers"], "the merge Job's containers");
    let mut texts = Vec::new();
    strings(&merge_containers[0], &mut texts);
    let script = texts.join("\n");
    for wanted in [
        "sprawl merge /reports/shard-*.json",
        "--format html -o /reports/sprawl.html",
        "--format json -o /reports/sprawl.json",
    ] {
        assert!(script.contains(wanted), "{wanted}: {script}");
    }
    assert_eq!(claim(merge, "/reports", &merge_containers[0]), reports);
}

/// The archives the release workflow attaches: `sprawl-<target>.<archive>` of its matrix.
fn released_archives() -> BTreeSet<String> {
    let workflow = release();
    let include = array(
        &workflow["jobs"]["build"]["strategy"]["matrix"]["include"],
        "jobs.build.strategy.matrix.include",
    );
    let package = step(steps(&workflow, "build"), "packages the binary", |s| {
        run(s).contains(".sha256")
    });
    assert!(
        run(package).contains("archive=\"sprawl-${{ matrix.target }}.${{ matrix.archive }}\""),
        "{}",
        run(package)
    );
    include
        .iter()
        .map(|e| format!("sprawl-{}.{}", scalar(&e["target"]), scalar(&e["archive"])))
        .collect()
}

/// The archive names a text sets with `archive=sprawl-…` (the Action, the install examples).
fn archive_names(text: &str) -> BTreeSet<String> {
    text.split("archive=")
        .skip(1)
        .map(|rest| {
            rest.trim_start_matches('"')
                .split(|c: char| c.is_whitespace() || c == '"' || c == ';')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .filter(|name| name.starts_with("sprawl-") && !name.contains('$'))
        .collect()
}

#[test]
fn the_release_builds_five_targets_with_checksums() {
    let workflow = release();
    let tags = array(&workflow["on"]["push"]["tags"], "on.push.tags");
    assert_eq!(tags, &vec![Value::from("v*")]);
    let expected: BTreeSet<String> = TARGETS
        .iter()
        .map(|(target, ext)| format!("sprawl-{target}.{ext}"))
        .collect();
    assert_eq!(released_archives(), expected);
    let include = array(
        &workflow["jobs"]["build"]["strategy"]["matrix"]["include"],
        "matrix.include",
    );
    for entry in include {
        let target = scalar(&entry["target"]);
        let os = scalar(&entry["os"]);
        let runner = if target.contains("linux") {
            "ubuntu"
        } else if target.contains("apple") {
            "macos"
        } else {
            "windows"
        };
        assert!(os.starts_with(runner), "{target} builds on {os}");
        if target.contains("linux-musl") {
            assert_eq!(scalar(&entry["build"]), "cross", "{target}");
        }
    }
    let build = steps(&workflow, "build");
    step(build, "installs cross", |s| {
        uses(s).starts_with("taiki-e/install-action@") && scalar(&s["with"]["tool"]) == "cross"
    });
    let package = run(step(build, "packages", |s| run(s).contains(".sha256")));
    for wanted in [
        "sha256sum \"$archive\" > \"$archive.sha256\"",
        "shasum -a 256",
    ] {
        assert!(package.contains(wanted), "{wanted}: {package}");
    }
    let publish = steps(&workflow, "release");
    let gh_release = step(publish, "attaches the archives", |s| {
        uses(s) == "softprops/action-gh-release@v2"
    });
    assert_eq!(scalar(&gh_release["with"]["files"]), "dist/*");
    assert_eq!(
        scalar(&workflow["jobs"]["release"]["permissions"]["contents"]),
        "write"
    );
}

#[test]
fn the_action_downloads_only_what_the_release_builds() {
    let released = released_archives();
    let action_names = archive_names(&read("action.yml"));
    assert_eq!(
        action_names, released,
        "the Action maps every release target, and only those"
    );
    for (what, text) in [
        ("docs/ci.md", tested_block("docs/ci.md", "install-binary")),
        (
            "docs/org-scan.md",
            tested_block("docs/org-scan.md", "org-workflow"),
        ),
    ] {
        let names = archive_names(&text);
        assert!(!names.is_empty(), "{what} downloads an archive");
        assert!(
            names.is_subset(&released),
            "{what}: {names:?} not in {released:?}"
        );
    }
}

#[test]
fn the_action_has_the_documented_inputs_and_outputs() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_object().expect("inputs");
    let expected = [
        ("version", "latest"),
        ("args", ""),
        ("paths", "."),
        ("format", "sarif"),
        ("output", "sprawl.sarif"),
        ("fail-on", "any"),
        ("history", "false"),
        ("validate", "false"),
        ("inventory", ""),
    ];
    let names: BTreeSet<&str> = inputs.keys().map(String::as_str).collect();
    assert_eq!(names, expected.iter().map(|(n, _)| *n).collect());
    for (name, default) in expected {
        assert_eq!(scalar(&inputs[name]["default"]), default, "input {name}");
        assert!(
            inputs[name]["description"].is_string(),
            "input {name} has a description"
        );
    }
    let outputs = action["outputs"].as_object().expect("outputs");
    assert_eq!(
        outputs.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(["report", "exit-code"])
    );
    for step in array(&action["runs"]["steps"], "runs.steps") {
        assert_eq!(step["shell"], "bash", "{step}");
        // Inputs reach the shell through the environment, never pasted into the script.
        assert!(!run(step).contains("${{"), "{}", run(step));
    }
}

/// A folder with a stand-in program `name` (a shell script) in it.
fn stand_in(dir: &Path, name: &str, script: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// PATH with `first` before the test process's PATH.
fn path_with(first: &[&Path]) -> std::ffi::OsString {
    let mut paths: Vec<PathBuf> = first.iter().map(|p| p.to_path_buf()).collect();
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// The folder of the sprawl under test.
fn sprawl_dir() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sprawl"))
        .parent()
        .expect("the binary is in a folder")
}

/// What a run of one of the Action's steps did.
struct StepRun {
    out: Output,
    outputs: BTreeMap<String, String>,
    path_added: String,
}

/// Runs the Action's step `id` in `dir` as the runner would (`bash --noprofile --norc -eo
/// pipefail`, its `env:` with `${{ inputs.X }}` from `with` or the input's default), with
/// `runner` (RUNNER_OS, …) and `first_on_path` before PATH.
fn run_action_step(
    id: &str,
    dir: &Path,
    with: &BTreeMap<String, String>,
    runner: &[(&str, &str)],
    first_on_path: &[&Path],
) -> StepRun {
    let action = action();
    let step = array(&action["runs"]["steps"], "runs.steps")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("action.yml has no step {id}"))
        .clone();
    let files = tempfile::tempdir().unwrap();
    let script = files.path().join("step.sh");
    std::fs::write(&script, run(&step)).unwrap();
    let output_file = files.path().join("output");
    let path_file = files.path().join("path");
    std::fs::write(&output_file, "").unwrap();
    std::fs::write(&path_file, "").unwrap();
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .current_dir(dir)
        .env("PATH", path_with(first_on_path))
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_PATH", &path_file)
        .env_remove("SPRAWL_ACTION_REPOSITORY");
    for (name, value) in step["env"].as_object().into_iter().flatten() {
        let value = scalar(value);
        let value = if let Some(input) = value
            .strip_prefix("${{ inputs.")
            .and_then(|v| v.strip_suffix(" }}"))
        {
            with.get(input)
                .cloned()
                .unwrap_or_else(|| scalar(&action["inputs"][input]["default"]))
        } else if value == "${{ github.action_repository }}" {
            runner
                .iter()
                .find(|(k, _)| *k == "github.action_repository")
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        } else {
            assert!(!value.contains("${{"), "{name}: {value}");
            value
        };
        command.env(name, value);
    }
    for (name, value) in runner {
        if !name.contains('.') {
            command.env(name, value);
        }
    }
    let out = command.output().expect("bash runs");
    let outputs = std::fs::read_to_string(&output_file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let path_added = std::fs::read_to_string(&path_file).unwrap();
    StepRun {
        out,
        outputs,
        path_added,
    }
}

fn with(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_action_scans_with_the_flags_its_inputs_give() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    // A stand-in sprawl that records its arguments, one a line, and finds something.
    stand_in(
        &bin,
        "sprawl",
        "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$PWD/args\"\nexit 1\n",
    );
    let recorded = || -> Vec<String> {
        std::fs::read_to_string(dir.path().join("args"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };

    let defaults = run_action_step("scan", dir.path(), &with(&[]), &[], &[&bin]);
    assert_eq!(
        defaults.out.status.code(),
        Some(1),
        "{}",
        show(&defaults.out)
    );
    assert_eq!(
        recorded(),
        [
            "scan",
            "--format",
            "sarif",
            "--fail-on",
            "any",
            "--output",
            "sprawl.sarif",
            "."
        ]
    );
    assert_eq!(
        defaults.outputs.get("report").map(String::as_str),
        Some("sprawl.sarif")
    );
    assert_eq!(
        defaults.outputs.get("exit-code").map(String::as_str),
        Some("1")
    );

    let all = run_action_step(
        "scan",
        dir.path(),
        &with(&[
            ("paths", "services/api  services/web"),
            ("args", "--repos-from repos.txt --shard 2/3"),
            ("format", "json"),
            ("output", "shard 2.json"),
            ("fail-on", "orphaned,live"),
            ("history", "true"),
            ("validate", "true"),
            ("inventory", "ops/sprawl inventory.yaml"),
        ]),
        &[],
        &[&bin],
    );
    assert_eq!(all.out.status.code(), Some(1), "{}", show(&all.out));
    assert_eq!(
        recorded(),
        [
            "scan",
            "--format",
            "json",
            "--fail-on",
            "orphaned,live",
            "--output",
            "shard 2.json",
            "--history",
            "--validate",
            "--inventory",
            "ops/sprawl inventory.yaml",
            "--repos-from",
            "repos.txt",
            "--shard",
            "2/3",
            "services/api",
            "services/web",
        ]
    );
    assert_eq!(
        all.outputs.get("report").map(String::as_str),
        Some("shard 2.json")
    );

    // No paths, no output file, `false` as GitHub passes it: nothing added.
    let bare = run_action_step(
        "scan",
        dir.path(),
        &with(&[
            ("paths", ""),
            ("output", ""),
            ("format", "text"),
            ("history", "false"),
        ]),
        &[],
        &[&bin],
    );
    assert_eq!(bare.out.status.code(), Some(1), "{}", show(&bare.out));
    assert_eq!(recorded(), ["scan", "--format", "text", "--fail-on", "any"]);
    assert_eq!(bare.outputs.get("report").map(String::as_str), Some(""));

    // sprawl's own exit code is the step's, 0 included.
    stand_in(&bin, "sprawl", "exit 0\n");
    let clean = run_action_step("scan", dir.path(), &with(&[]), &[], &[&bin]);
    assert_eq!(clean.out.status.code(), Some(0), "{}", show(&clean.out));
    assert_eq!(
        clean.outputs.get("exit-code").map(String::as_str),
        Some("0")
    );
}

/// A fake release folder with the Linux x86-64 archive (holding a stand-in sprawl) and its
/// `.sha256`, and a stand-in curl that serves it, logging each URL it is asked for.
fn fake_release(dir: &Path) -> PathBuf {
    let release = dir.join("release");
    let stage = dir.join("stage");
    stand_in(&stage, "sprawl", "echo 'sprawl 0.2.0'\n");
    std::fs::create_dir_all(&release).unwrap();
    let archive = "sprawl-x86_64-unknown-linux-musl.tar.gz";
    let ok = |out: Output| assert!(out.status.success(), "{}", show(&out));
    ok(Command::new("tar")
        .arg("-czf")
        .arg(release.join(archive))
        .arg("-C")
        .arg(&stage)
        .arg("sprawl")
        .output()
        .unwrap());
    ok(Command::new("sh")
        .current_dir(&release)
        .args(["-c", &format!("sha256sum {archive} > {archive}.sha256")])
        .output()
        .unwrap());
    let bin = dir.join("curl-bin");
    stand_in(
        &bin,
        "curl",
        &format!(
            "out=; url=\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in\n    -o) out=$2; shift ;;\n    -*) ;;\n    *) url=$1 ;;\n  esac\n  shift\ndone\necho \"$url\" >> '{log}'\ncp '{release}'/\"${{url##*/}}\" \"$out\"\n",
            log = dir.join("urls").display(),
            release = release.display()
        ),
    );
    bin
}

#[test]
fn the_action_installs_the_release_it_checked() {
    let dir = tempfile::tempdir().unwrap();
    let curl = fake_release(dir.path());
    let temp = dir.path().join("runner-temp");
    std::fs::create_dir(&temp).unwrap();
    let temp_text = temp.to_str().unwrap().to_string();
    let runner = |repository: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("RUNNER_OS", "Linux".into()),
            ("RUNNER_ARCH", "X64".into()),
            ("RUNNER_TEMP", temp_text.clone()),
            (
                "GITHUB_ACTION_PATH",
                "/home/runner/work/_actions/acme/sprawl/v1".into(),
            ),
            ("github.action_repository", repository.into()),
        ]
    };
    let install = |version: &str, repository: &'static str| {
        let runner = runner(repository);
        let runner: Vec<(&str, &str)> = runner.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let _ = std::fs::remove_file(dir.path().join("urls"));
        let step = run_action_step(
            "install",
            dir.path(),
            &with(&[("version", version)]),
            &runner,
            &[&curl],
        );
        let urls = std::fs::read_to_string(dir.path().join("urls")).unwrap_or_default();
        (step, urls)
    };

    // `latest`, with github.action_repository empty, as in composite runs: from the path.
    let (step, urls) = install("latest", "");
    assert_eq!(step.out.status.code(), Some(0), "{}", show(&step.out));
    let base = "https://github.com/acme/sprawl/releases/latest/download";
    assert_eq!(
        urls,
        format!(
            "{base}/sprawl-x86_64-unknown-linux-musl.tar.gz\n{base}/sprawl-x86_64-unknown-linux-musl.tar.gz.sha256\n"
        )
    );
    let added = Path::new(step.path_added.trim());
    assert!(added.starts_with(&temp), "{added:?}");
    assert!(added.join("sprawl").is_file());
    assert!(String::from_utf8_lossy(&step.out.stdout).contains("sprawl 0.2.0"));

    // A version, with or without its `v`, from the repository GitHub names.
    for version in ["v0.2.0", "0.2.0"] {
        let (step, urls) = install(version, "fork/sprawl-mirror");
        assert_eq!(step.out.status.code(), Some(0), "{}", show(&step.out));
        assert!(
            urls.starts_with(
                "https://github.com/fork/sprawl-mirror/releases/download/v0.2.0/sprawl-x86_64-unknown-linux-musl.tar.gz\n"
            ),
            "{urls}"
        );
    }

    // An archive that does not match its checksum is not installed.
    let archive = dir
        .path()
        .join("release/sprawl-x86_64-unknown-linux-musl.tar.gz");
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).unwrap();
    let (step, _) = install("latest", "");
    assert_eq!(step.out.status.code(), Some(2), "{}", show(&step.out));
    assert!(step.path_added.is_empty());
    assert!(String::from_utf8_lossy(&step.out.stderr).contains("SHA-256"));
}

// ---------------------------------------------------------------------------------------
// End to end: three repositories, one token shared by two of them. These need
// `--repos-from`, `--shard` and `sprawl merge`.

/// Three repositories under `root`, at the given folders: `api` and `billing` hold the same
/// token (`shared`) in `deploy/ci.env`; `web` holds another (`other`).
struct Org {
    _dir: tempfile::TempDir,
    home: PathBuf,
    base: PathBuf,
    shared: String,
    other: String,
}

impl Org {
    fn new() -> Org {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        Org {
            base: dir.path().to_path_buf(),
            _dir: dir,
            home,
            shared: token(),
            other: github_token(7),
        }
    }

    /// Creates the three repositories as `api`, `billing`, `web` in the folders given.
    fn repositories(&self, api: &Path, billing: &Path, web: &Path) {
        let repos = [
            (api, "deploy/ci.env", format!("GH_TOKEN={}\n", self.shared)),
            (
                billing,
                "deploy/ci.env",
                format!("GH_TOKEN={}\n", self.shared),
            ),
            (
                web,
                "config/settings.env",
                format!("GITHUB_TOKEN={}\n", self.other),
            ),
        ];
        for (path, file, text) in repos {
            std::fs::create_dir_all(path).unwrap();
            let git = |args: &[&str], date: &str| common::git(path, &self.home, args, date);
            git(&["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
            std::fs::write(path.join("README.md"), "# service\n").unwrap();
            git(&["add", "-A"], "2024-01-01T00:00:00Z");
            git(&["commit", "-q", "-m", "start"], "2024-01-01T00:00:00Z");
            let file = path.join(file);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
            git(&["add", "-A"], "2024-02-01T00:00:00Z");
            git(
                &["commit", "-q", "-m", "credentials"],
                "2024-02-01T00:00:00Z",
            );
        }
    }

    /// Runs `program args…` in `dir`, with the sprawl under test (and `first`) first on PATH.
    fn run(&self, dir: &Path, program: &str, args: &[&str], first: &[&Path]) -> Output {
        let mut on_path = first.to_vec();
        on_path.push(sprawl_dir());
        Command::new(program)
            .current_dir(dir)
            .args(args)
            .env("PATH", path_with(&on_path))
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("the command runs")
    }

    fn sprawl(&self, dir: &Path, args: &[&str]) -> Output {
        self.run(dir, env!("CARGO_BIN_EXE_sprawl"), args, &[])
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn findings(report: &Value) -> &Vec<Value> {
    array(&report["findings"], "findings")
}

fn fingerprints(report: &Value) -> BTreeSet<String> {
    findings(report)
        .iter()
        .map(|f| scalar(&f["fingerprint"]))
        .collect()
}

/// Every place of every finding as (fingerprint, repository, path, line).
fn places(report: &Value) -> BTreeSet<(String, String, String, u64)> {
    let mut places = BTreeSet::new();
    for finding in findings(report) {
        for location in array(&finding["locations"], "locations") {
            let repository = location["repository"].as_str().unwrap_or_else(|| {
                panic!("a location of a --repos-from scan names its repository: {location}")
            });
            places.insert((
                scalar(&finding["fingerprint"]),
                repository.to_string(),
                scalar(&location["path"]),
                location["line"].as_u64().unwrap_or(0),
            ));
        }
    }
    places
}

/// The finding of the secret `secret` (its fingerprint is the SHA-256 of its bytes).
fn finding_of<'a>(report: &'a Value, secret: &str) -> &'a Value {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let fingerprint = format!("sha256:{hex}");
    findings(report)
        .iter()
        .find(|f| f["fingerprint"] == fingerprint.as_str())
        .unwrap_or_else(|| panic!("no finding with {fingerprint}: {report}"))
}

fn statuses(finding: &Value) -> Vec<String> {
    array(&finding["statuses"], "statuses")
        .iter()
        .map(scalar)
        .collect()
}

/// The local layout: `acme/api` and `billing` found from URL lines, `web` a path line; a
/// comment, a blank line and a duplicate that do not count.
fn local_org() -> (Org, PathBuf) {
    let org = Org::new();
    let work = org.base.join("work");
    org.repositories(
        &work.join("acme/api"),
        &work.join("billing"),
        &work.join("web"),
    );
    std::fs::write(
        work.join("repos.txt"),
        "# the organisation's repositories\nhttps://github.com/acme/api.git\nhttps://github.com/acme/billing.git\n\nweb\nhttps://github.com/acme/api.git\n",
    )
    .unwrap();
    (org, work)
}

#[test]
fn the_local_run_merges_to_what_one_scan_reports() {
    let (org, work) = local_org();
    let block = tested_block("docs/org-scan.md", "org-local");
    let out = org.run(&work, "sh", &["-c", &block], &[]);
    // The last command prints the merged text report and exits 1: there are findings.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    let shards: Vec<Value> = (1..=3)
        .map(|i| read_json(&work.join(format!("shard-{i}.json"))))
        .collect();
    for (i, shard) in shards.iter().enumerate() {
        let scan = &shard["scan"];
        for key in [
            "repository",
            "commit",
            "paths",
            "started_at",
            "sprawl_version",
            "rules_digest",
            "repositories",
        ] {
            assert!(
                scan.get(key).is_some(),
                "shard {}: scan.{key}: {scan}",
                i + 1
            );
        }
        assert_eq!(scan["sprawl_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            array(&scan["repositories"], "scan.repositories").len(),
            1,
            "3 lines, 3 shards: one each: {scan}"
        );
        assert_eq!(findings(shard).len(), 1, "each repository holds one token");
    }

    let out = org.sprawl(
        &work,
        &[
            "scan",
            "--repos-from",
            "repos.txt",
            "--format",
            "json",
            "-o",
            "all.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let all = read_json(&work.join("all.json"));
    let merged = read_json(&work.join("merged.json"));
    assert_eq!(fingerprints(&merged), fingerprints(&all));
    assert_eq!(fingerprints(&merged).len(), 2, "two distinct tokens");
    assert_eq!(places(&merged), places(&all));
    assert_eq!(places(&merged).len(), 3, "three places");

    for report in [&merged, &all] {
        let shared = finding_of(report, &org.shared);
        assert!(statuses(shared).contains(&"reused".to_string()), "{shared}");
        let repositories: BTreeSet<&str> = array(&shared["locations"], "locations")
            .iter()
            .filter_map(|l| l["repository"].as_str())
            .collect();
        assert_eq!(repositories.len(), 2, "{shared}");
        let other = finding_of(report, &org.other);
        assert!(!statuses(other).contains(&"reused".to_string()), "{other}");
    }
    for report in [
        "shard-1.json",
        "shard-2.json",
        "shard-3.json",
        "merged.json",
        "all.json",
    ] {
        let text = std::fs::read_to_string(work.join(report)).unwrap();
        assert!(
            !text.contains(&org.shared) && !text.contains(&org.other),
            "{report} holds a secret"
        );
    }
}

#[test]
fn merge_checks_what_it_merges() {
    let (org, work) = local_org();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let report = format!("shard-{i}.json");
        let out = org.sprawl(
            &work,
            &[
                "scan",
                "--repos-from",
                "repos.txt",
                "--shard",
                &shard,
                "--fail-on",
                "none",
                "--format",
                "json",
                "-o",
                &report,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }

    // Not a sprawl report: exit 2, one line naming the file, nothing written.
    std::fs::write(work.join("notes.json"), "{\"hello\": 1}\n").unwrap();
    let out = org.sprawl(
        &work,
        &[
            "merge",
            "shard-1.json",
            "notes.json",
            "--format",
            "json",
            "-o",
            "out.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("sprawl: ") && stderr.contains("notes.json"),
        "{stderr}"
    );
    assert!(!work.join("out.json").exists());

    // Another version and other rules: merged, with a warning naming them.
    let digest = "ab".repeat(32); // hex, as scan.rules_digest is
    let mut second = read_json(&work.join("shard-2.json"));
    second["scan"]["sprawl_version"] = Value::from("0.0.0-test");
    std::fs::write(work.join("shard-2.json"), second.to_string()).unwrap();
    let mut third = read_json(&work.join("shard-3.json"));
    third["scan"]["rules_digest"] = Value::from(digest.as_str());
    std::fs::write(work.join("shard-3.json"), third.to_string()).unwrap();
    let out = org.sprawl(
        &work,
        &[
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "--format",
            "json",
            "-o",
            "out.json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "findings, default --fail-on any: {}",
        show(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0.0.0-test"), "{stderr}");
    assert!(stderr.contains(&"ab".repeat(6)), "{stderr}");
    assert_eq!(fingerprints(&read_json(&work.join("out.json"))).len(), 2);

    // --fail-on reused: the shared token fails it; none passes.
    let out = org.sprawl(
        &work,
        &[
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "--fail-on",
            "reused",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = org.sprawl(
        &work,
        &[
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "--fail-on",
            "none",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn the_org_workflow_runs_as_documented() {
    let org = Org::new();
    // The "remote" repositories; git clones https://github.com/ from here.
    let remotes = org.base.join("remotes");
    // git adds no suffix to a file:// URL: https://github.com/acme/api.git is acme/api.git.
    org.repositories(
        &remotes.join("acme/api.git"),
        &remotes.join("acme/billing.git"),
        &remotes.join("acme/web.git"),
    );
    common::git(
        &org.base,
        &org.home,
        &[
            "config",
            "--global",
            &format!("url.file://{}/.insteadOf", remotes.display()),
            "https://github.com/",
        ],
        "2024-01-01T00:00:00Z",
    );
    // gh only sets up git's credentials, which file:// clones do not need.
    let gh = org.base.join("gh-bin");
    stand_in(&gh, "gh", "exit 0\n");
    let repos = "# every repository of the organisation\nhttps://github.com/acme/web.git\nhttps://github.com/acme/api.git\n\nhttps://github.com/acme/billing.git\nhttps://github.com/acme/api.git\n";

    let workflow = org_workflow();
    let scan_steps = steps(&workflow, "scan");
    let clone = run(step(scan_steps, "clones", |s| run(s).contains("git clone")));
    let sprawl = step(scan_steps, "uses the Action", is_sprawl_action);
    let merge_dir = org.base.join("merge");
    std::fs::create_dir(&merge_dir).unwrap();
    // Sorted: api, billing, web: shard 1 gets api, 2 billing, 3 web.
    for (shard, name) in [(1, "api"), (2, "billing"), (3, "web")] {
        let workspace = org.base.join(format!("shard-{shard}"));
        std::fs::create_dir(&workspace).unwrap();
        std::fs::write(workspace.join("repos.txt"), repos).unwrap();
        let script = clone.replace(SHARD, &shard.to_string());
        // GitHub's default shell for `run:`: bash -e.
        let out = org.run(&workspace, "bash", &["-e", "-c", &script], &[&gh]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "clone, shard {shard}: {}",
            show(&out)
        );
        let cloned: Vec<String> = std::fs::read_dir(workspace.join("acme"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            cloned,
            vec![name.to_string()],
            "shard {shard} clones its share"
        );

        let mut inputs: BTreeMap<String, String> = sprawl["with"]
            .as_object()
            .expect("with")
            .iter()
            .map(|(k, v)| (k.clone(), scalar(v).replace(SHARD, &shard.to_string())))
            .collect();
        // Providers are not asked here; tests/validate covers --validate.
        inputs.insert("validate".into(), "false".into());
        let on_path = [sprawl_dir()];
        let step = run_action_step("scan", &workspace, &inputs, &[], &on_path);
        assert_eq!(
            step.out.status.code(),
            Some(0),
            "scan, shard {shard}: {}",
            show(&step.out)
        );
        let report = format!("sprawl-shard-{shard}.json");
        assert_eq!(step.outputs.get("report"), Some(&report));
        assert_eq!(step.outputs.get("exit-code").map(String::as_str), Some("0"));
        let json = read_json(&workspace.join(&report));
        assert_eq!(findings(&json).len(), 1, "shard {shard}: {json}");
        std::fs::copy(workspace.join(&report), merge_dir.join(&report)).unwrap();
    }

    std::fs::write(merge_dir.join("sprawl-inventory.yaml"), "version: 1\n").unwrap();
    let merge_steps = steps(&workflow, "merge");
    let merge = run(step(merge_steps, "merges", |s| {
        run(s).contains("-o sprawl.sarif")
    }));
    let out = org.run(&merge_dir, "bash", &["-e", "-c", merge], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let sarif = read_json(&merge_dir.join("sprawl.sarif"));
    assert_eq!(sarif["version"], "2.1.0");
    let html = std::fs::read_to_string(merge_dir.join("sprawl.html")).unwrap();
    assert!(html.contains("<html"), "an HTML page");
    for file in ["sprawl.sarif", "sprawl.html"] {
        let text = std::fs::read_to_string(merge_dir.join(file)).unwrap();
        assert!(
            !text.contains(&org.shared) && !text.contains(&org.other),
            "{file} holds a secret"
        );
    }
    // The gate: nobody owns these tokens, so the last step fails the workflow.
    let gate = run(merge_steps.last().expect("steps"));
    let out = org.run(&merge_dir, "bash", &["-e", "-c", gate], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}
