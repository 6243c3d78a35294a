//! What a scan will do, resolved once, before any work: from the command's flags (an
//! [`Asked`], which each command that scans fills from its own arguments), the `.sprawl.toml`
//! it finds, and the inventory and baseline files it loads. A malformed file stops the run
//! here (exit 2). The pipeline reads only the [`Plan`]: the command line's structs stop at
//! `commands/`.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cli::{OutputArgs, PolicyArgs, ReadArgs, RuleArgs, SourceArgs};
use crate::config::{CommandLine, Config, ConfigError, Defaults, Effective};
use crate::inventory::{self, Inventory, InventoryError, Policy};
use crate::report::{self, Format};
use crate::rules::RuleSet;
use crate::sources::blob_cache;
use crate::sources::git::{self, GitError};
use crate::sources::history::{self, GitHistory, Span, StagedChanges};
use crate::sources::stdin::Stdin;
use crate::sources::walk::Walk;
use crate::sources::{self, ProjectPaths, Root, Source, WalkOptions};
use crate::suppress::{Baseline, BaselineError, Suppressor};

/// `--max-file-size` when neither the command line nor the configuration sets it.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 25 << 20;

#[derive(Debug, Error)]
pub enum PlanError {
    /// A path to scan that cannot be read (shown as given).
    #[error("{path}: {error}")]
    Path { path: String, error: std::io::Error },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Repos(#[from] crate::sources::repos::ReposError),
    #[error("--repos-from lists the repositories to scan: give no PATH beside it")]
    ReposAndPaths,
}

/// What a scan reads: the files under some folders, their history, a range of it, or what is
/// staged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// The files under the roots.
    #[default]
    WorkTree,
    /// Every blob of every ref of the repository holding each root, with the work tree unless
    /// `worktree` is false (or the repository is bare); checked-out submodules' histories too
    /// when `submodules`.
    History { worktree: bool, submodules: bool },
    /// What the commits of a range add (`A..B`; `given` is the flag as typed, for errors).
    Range { range: String, given: String },
    /// What is staged for the next commit, at the lines it adds.
    Staged,
}

impl Mode {
    /// A range or staged changes: the scan sees changes, not the project.
    pub fn reads_changes_only(&self) -> bool {
        matches!(self, Mode::Range { .. } | Mode::Staged)
    }

    /// History is read (and findings dated from it).
    pub fn reads_history(&self) -> bool {
        matches!(self, Mode::History { .. } | Mode::Range { .. })
    }
}

/// What a command asked of a scan, before files are read: the flag groups of `sprawl scan`
/// (`cli.rs`), taken as they are. `sprawl scan` fills it from its flags; `inventory init`,
/// `baseline create` and `explain` from theirs, leaving the rest at their defaults.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    /// Folders and files to scan; `-` is standard input. Empty: the current folder.
    pub paths: Vec<PathBuf>,
    pub sources: SourceArgs,
    pub output: OutputArgs,
    pub rules: RuleArgs,
    pub reading: ReadArgs,
    pub policy: PolicyArgs,
    pub validation: crate::cli::ValidateArgs,
    /// Record every candidate and its verdict (`sprawl explain`).
    pub explain: bool,
}

impl Mode {
    /// What the source flags ask to read.
    pub fn of(sources: &SourceArgs) -> Mode {
        match (&sources.range, &sources.since) {
            (Some(range), _) => Mode::Range {
                range: range.clone(),
                given: format!("--range {range}"),
            },
            (None, Some(rev)) => Mode::Range {
                range: format!("{rev}..HEAD"),
                given: format!("--since {rev}"),
            },
            (None, None) if sources.staged => Mode::Staged,
            (None, None) if sources.history => Mode::History {
                worktree: !sources.no_worktree,
                submodules: sources.recurse_submodules,
            },
            (None, None) => Mode::WorkTree,
        }
    }
}

/// What the command line asked to scan.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub roots: Vec<Root>,
    /// `-` was among the paths.
    pub stdin: bool,
}

impl Targets {
    fn resolve(paths: &[PathBuf]) -> Result<Targets, PlanError> {
        let paths: Vec<PathBuf> = if paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            paths.to_vec()
        };
        let many = paths.len() > 1;
        let mut targets = Targets::default();
        for path in paths {
            if path.as_os_str() == "-" {
                targets.stdin = true;
                continue;
            }
            let meta = std::fs::metadata(&path).map_err(|error| PlanError::Path {
                path: path.display().to_string(),
                error,
            })?;
            let shown = path.to_string_lossy().replace('\\', "/");
            // One folder: paths relative to it. A file, or several roots: paths as given.
            let display_prefix = if meta.is_dir() && !many {
                String::new()
            } else {
                shown
            };
            targets.roots.push(Root {
                path,
                display_prefix,
            });
        }
        Ok(targets)
    }

    /// Where a scan's `.sprawl.toml` and inventory are looked for: each scanned folder (or a
    /// scanned file's folder), then the root of its repository.
    fn search_folders(&self) -> Vec<PathBuf> {
        let mut folders = Vec::new();
        for root in &self.roots {
            let dir = if root.path.is_dir() {
                root.path.clone()
            } else {
                folder_of(&root.path)
            };
            let repo_root = git::discover(&dir)
                .ok()
                .and_then(|r| r.workdir().map(Path::to_path_buf));
            folders.push(dir);
            folders.extend(repo_root);
        }
        folders
    }
}

/// A scan, resolved.
pub struct Plan {
    pub targets: Targets,
    pub mode: Mode,
    pub format: Format,
    /// `-o FILE`; standard output when `None`.
    pub output: Option<PathBuf>,
    /// What every report shows: secrets or not, suppressed findings or not, colours.
    pub report: report::Options,
    /// The time ages and expiry are computed against (`--now`, else the clock).
    pub now: i64,
    /// No progress line.
    pub quiet: bool,
    pub explain: bool,
    /// The rules: the command line's selection, the configuration's files and disabled ones.
    pub rules: RuleArgs,
    /// The effective settings, each with where it came from.
    pub settings: Effective,
    pub inventory: Option<Inventory>,
    pub baseline: Option<Baseline>,
    /// `--validate`: how providers are asked; `None` opens no connection.
    pub validation: Option<crate::validate::Settings>,
    /// The repository (or folder) of each root, in order.
    pub repositories: Vec<crate::sources::repos::Repository>,
    /// The roots came from `--repos-from`.
    pub repos_from: bool,
    respect_ignore_files: bool,
    follow_links: bool,
    threads: usize,
    /// A whole-history scan that may use the blob cache (not `--no-cache`, not `explain`).
    wants_blob_cache: bool,
    /// Set by the scan once the rules are loaded (the cache key depends on them).
    blob_cache: Option<blob_cache::Settings>,
}

impl Plan {
    /// Resolves what was asked: finds and reads `.sprawl.toml`, the inventory and the baseline.
    pub fn resolve(asked: Asked) -> Result<Plan, PlanError> {
        let targets = match &asked.sources.repos_from {
            None => Targets::resolve(&asked.paths)?,
            Some(_) if !asked.paths.is_empty() => return Err(PlanError::ReposAndPaths),
            Some(list) => {
                let listed = crate::sources::repos::read_list(list, asked.sources.shard)?;
                let paths: Vec<PathBuf> = listed.iter().map(|l| l.path.clone()).collect();
                let mut targets = Targets::resolve(&paths)?;
                // Always `label/path`, one repository or many, so shards' reports agree.
                for (root, l) in targets.roots.iter_mut().zip(&listed) {
                    root.display_prefix = l.label.clone();
                }
                targets
            }
        };
        let repositories = targets
            .roots
            .iter()
            .map(|r| crate::sources::repos::describe(&r.path, &r.display_prefix))
            .collect();
        let settings = settings(&asked, &targets)?;
        let folders = targets.search_folders();
        let (policy, output) = (&asked.policy, &asked.output);
        let found = if policy.no_inventory {
            None
        } else {
            find_inventory(&folders)
        };
        let mode = Mode::of(&asked.sources);
        let wants_blob_cache =
            matches!(mode, Mode::History { .. }) && !asked.sources.no_cache && !asked.explain;
        // Inventory globs and baseline paths name places in the project they describe, not
        // in the folder scanned: a scan of `docs/` sees `conf.py` where they say `docs/conf.py`.
        let changes_only = mode.reads_changes_only();
        let project_paths =
            |project: &Path| ProjectPaths::new(&targets.roots, project, changes_only);
        let inventory = match (&settings.inventory.value, policy.no_inventory) {
            (Some(path), false) => {
                let mut inventory = Inventory::load(path)?;
                // Globs start where the inventory was found by default, else (named with
                // --inventory or in .sprawl.toml) at the scanned repository's root.
                let project = match &found {
                    Some((file, folder)) if file == path => folder.clone(),
                    _ => scanned_project(&folders),
                };
                inventory.paths = Some(project_paths(&project));
                Some(inventory)
            }
            _ => None,
        };
        let baseline = match &policy.baseline {
            Some(path) => {
                let mut baseline = Baseline::load(path)?;
                baseline.paths = Some(project_paths(&folder_of(path)));
                Some(baseline)
            }
            None => None,
        };
        let color = output.color.resolve(output.output.is_some());
        let threads = asked.reading.threads.filter(|&n| n > 0).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        });
        let rules = rule_selection(&asked.rules, &settings);
        let validation = asked.validation.validate.then(|| {
            let endpoints = settings.validate_endpoints.iter().map(|s| s.value.clone());
            validation_settings(&asked.validation, endpoints, asked.sources.no_cache)
        });
        Ok(Plan {
            mode,
            format: output.format,
            output: output.output.clone(),
            report: report::Options {
                show_secrets: output.show_secrets,
                show_suppressed: output.show_suppressed,
                color,
            },
            now: policy.judging.now.unwrap_or_else(unix_now),
            quiet: output.quiet,
            explain: asked.explain,
            rules,
            settings,
            inventory,
            baseline,
            validation,
            repositories,
            repos_from: asked.sources.repos_from.is_some(),
            respect_ignore_files: !asked.reading.no_ignore,
            follow_links: asked.reading.follow,
            threads,
            targets,
            wants_blob_cache,
            blob_cache: None,
        })
    }

    /// Whether the scan covers several repositories (`--repos-from`, or paths in different
    /// ones): then each place names its repository.
    pub fn spans_repositories(&self) -> bool {
        let distinct: std::collections::BTreeSet<&str> = self
            .repositories
            .iter()
            .map(|r| r.repository.as_str())
            .collect();
        self.repos_from || distinct.len() > 1
    }

    /// The project the scan belongs to (the first scanned folder's repository root, else
    /// that folder), and how shown paths map into it: CODEOWNERS applies there.
    pub fn project(&self) -> (PathBuf, ProjectPaths) {
        let root = scanned_project(&self.targets.search_folders());
        let paths = ProjectPaths::new(&self.targets.roots, &root, self.mode.reads_changes_only());
        (root, paths)
    }

    /// Only the settings a scan of `paths` would use (`sprawl config show`): no inventory or
    /// baseline is read.
    pub fn settings_only(asked: &Asked) -> Result<Effective, PlanError> {
        let targets = Targets::resolve(&asked.paths)?;
        settings(asked, &targets)
    }

    /// The sources to read, in order: standard input, the work trees, the histories (and
    /// submodules'), staged changes. Repositories are opened and their commits walked here, so
    /// a folder that is not a repository, or a range git cannot resolve, is an error (exit 2)
    /// before any scan, not a half-done report.
    pub fn sources(&self) -> Result<Vec<Box<dyn Source>>, PlanError> {
        let mut sources: Vec<Box<dyn Source>> = Vec::new();
        if self.targets.stdin {
            sources.push(Box::new(Stdin));
        }
        let roots = &self.targets.roots;
        match &self.mode {
            Mode::WorkTree => sources.push(Box::new(Walk {
                roots: roots.clone(),
            })),
            Mode::History {
                worktree,
                submodules,
            } => {
                let cache = self.blob_cache.as_ref().map(|c| c.folder.as_path());
                let histories = roots
                    .iter()
                    .map(|root| GitHistory::open(root, &Span::All, cache))
                    .collect::<Result<Vec<_>, _>>()?;
                let walked: Vec<Root> = histories
                    .iter()
                    .filter(|h| *worktree && h.has_work_tree())
                    .map(|h| h.root.clone())
                    .collect();
                sources.push(Box::new(Walk { roots: walked }));
                let mut nested = Vec::new();
                if *submodules {
                    for root in roots {
                        history::submodules(root, &mut nested)?;
                    }
                }
                for history in histories.into_iter().chain(nested) {
                    sources.push(Box::new(history));
                }
            }
            Mode::Range { range, given } => {
                for root in roots {
                    let span = Span::Range { range, given };
                    sources.push(Box::new(GitHistory::open(root, &span, None)?));
                }
            }
            Mode::Staged => {
                for root in roots {
                    sources.push(Box::new(StagedChanges::open(root)?));
                }
            }
        }
        Ok(sources)
    }

    /// Turns the blob cache on for a history scan with these rules (see
    /// [`blob_cache::cache_key`]): what else changes what matching finds is in the key too.
    pub fn use_blob_cache(&mut self, rules: &RuleSet) {
        if !self.wants_blob_cache {
            return;
        }
        let Some(folder) = blob_cache::folder() else {
            return;
        };
        let settings = format!(
            "max_file_size={} archives={} max_archive_size={}",
            self.settings.max_file_size.value,
            self.settings.archives.value,
            self.settings.max_archive_size.value
        );
        self.blob_cache = Some(blob_cache::Settings {
            folder,
            key: blob_cache::cache_key(&rules.rules, &settings),
        });
    }

    /// How sources read files; `chunk_overlap` is the engine's reach.
    pub fn walk_options(&self, chunk_overlap: usize) -> WalkOptions {
        WalkOptions {
            blob_cache: self.blob_cache.clone(),
            respect_ignore_files: self.respect_ignore_files,
            follow_links: self.follow_links,
            max_file_size: self.settings.max_file_size.value,
            threads: self.threads,
            archives: self.settings.archives.value,
            max_archive_size: self.settings.max_archive_size.value,
            chunk_overlap,
        }
    }

    /// What statuses are decided against.
    pub fn policy(&self) -> Policy {
        Policy {
            now: self.now,
            max_age_days: self.settings.max_age_days.value,
        }
    }

    pub fn suppressor(&self) -> Suppressor<'_> {
        Suppressor {
            allows: &self.settings.allows,
            baseline: self.baseline.as_ref(),
            report_generic_in_tests: self.settings.report_generic_in_tests.value,
        }
    }
}

/// The command line over `.sprawl.toml` over the defaults.
fn settings(asked: &Asked, targets: &Targets) -> Result<Effective, PlanError> {
    let (policy, reading) = (&asked.policy, &asked.reading);
    let folders = targets.search_folders();
    let configuration = &policy.configuration;
    let config = if configuration.no_config {
        Config::default()
    } else {
        match configuration
            .config
            .clone()
            .or_else(|| Config::find(&folders))
        {
            Some(path) => Config::load(&path)?,
            None => Config::default(),
        }
    };
    let found = if policy.no_inventory {
        None
    } else {
        find_inventory(&folders).map(|(file, _)| file)
    };
    Ok(Effective::resolve(
        CommandLine {
            rule_paths: Vec::new(),
            disabled_rules: Vec::new(),
            inventory: policy.inventory.clone(),
            max_file_size: reading.max_file_size,
            max_age_days: policy.judging.max_age_days,
            fail_on: policy.judging.fail_on.clone(),
            archives: reading.no_archives.then_some(false),
            max_archive_size: reading.max_archive_size,
            validate_endpoints: asked.validation.validate_endpoint.clone(),
        },
        config,
        Defaults {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_archive_size: sources::archive::DEFAULT_MAX_ARCHIVE_SIZE,
            max_age_days: inventory::DEFAULT_MAX_AGE_DAYS,
            inventory: found,
        },
    ))
}

/// How `--validate` runs: endpoints from the configuration, then the command line (a later
/// one for the same name wins), and the results cache unless `--no-cache`.
pub fn validation_settings(
    asked: &crate::cli::ValidateArgs,
    endpoints: impl IntoIterator<Item = (String, String)>,
    no_cache: bool,
) -> crate::validate::Settings {
    let defaults = crate::validate::Settings::default();
    crate::validate::Settings {
        endpoints: endpoints.into_iter().collect(),
        timeout: asked
            .validate_timeout
            .map_or(defaults.timeout, std::time::Duration::from_secs),
        budget: asked
            .validate_budget
            .map_or(defaults.budget, std::time::Duration::from_secs),
        cache: if no_cache { None } else { blob_cache::folder() },
    }
}

/// The command line's rule selection plus the configuration's rule files and disabled rules.
fn rule_selection(given: &RuleArgs, settings: &Effective) -> RuleArgs {
    let mut rules = given.clone();
    let mut paths: Vec<PathBuf> = settings
        .rule_paths
        .iter()
        .map(|p| p.value.clone())
        .collect();
    paths.append(&mut rules.rule_paths);
    rules.rule_paths = paths;
    rules
        .disabled
        .extend(settings.disabled_rules.iter().map(|d| d.value.clone()));
    rules
}

/// The repository root of the first scanned folder (the last search folder of a root is its
/// repository's root), else that folder.
fn scanned_project(folders: &[PathBuf]) -> PathBuf {
    let first = folders
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    git::discover(&first)
        .ok()
        .and_then(|repo| repo.workdir().map(Path::to_path_buf))
        .unwrap_or(first)
}

/// The folder holding a file (`.` for a bare file name).
pub fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The first default inventory file in the search folders, and the folder it was found in.
pub fn find_inventory(folders: &[PathBuf]) -> Option<(PathBuf, PathBuf)> {
    folders.iter().find_map(|base| {
        inventory::DEFAULT_NAMES
            .iter()
            .map(|name| base.join(name))
            .find(|candidate| candidate.is_file())
            .map(|file| (file, base.clone()))
    })
}

/// Where `sprawl inventory init PATH` writes by default: PATH's inventory if it has one (at
/// the folder or its repository's root), else PATH/sprawl-inventory.yaml.
pub fn default_inventory_file(path: &Path) -> Result<PathBuf, PlanError> {
    let targets = Targets::resolve(&[path.to_path_buf()])?;
    Ok(find_inventory(&targets.search_folders())
        .map_or_else(|| path.join(inventory::DEFAULT_NAMES[0]), |(file, _)| file))
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
