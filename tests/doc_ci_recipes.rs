//! The CI recipes of the documentation (`<!-- doc-test: ci: KIND -->`
//! blocks, see `doc_commands`), run: each recipe's shell steps, in order,
//! with the environment it sets, as two jobs in a row on fresh
//! checkouts of `fixtures/guide` at new paths. Between jobs a simulated
//! cache service keeps what the recipe saves (a tar archive of the cache
//! path, as actions/cache and GitLab make; a directory for a BuildKit
//! cache mount), and an hour passes (the restored files are aged).
//!
//! The first job is cold. The second must be all hits and pass
//! `--check-hit-rate`; an unused entry slipped into its restored cache
//! must not be in what it saves (the eviction before the upload), and
//! everything it used must be. Steps the test cannot run carry the
//! not-run mark on their line; any other step or key a recipe has that
//! this simulator does not know fails the test.

mod docker;
mod jobs;
mod yaml;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::common::*;
use crate::doc_commands::{all_blocks, repo, Block, Sandbox};

/// The archives a cache service holds, newest last.
pub(crate) struct Service {
    dir: PathBuf,
    saved: Vec<(String, PathBuf)>,
}

/// An entry's name no compile makes, planted in a restored cache as an
/// older commit's object this job does not use.
const STALE: &str = "0/0/0000000000000000000000000000000000000000000000000000000000000000R";

impl Service {
    fn new(dir: PathBuf) -> Service {
        fs::create_dir_all(&dir).unwrap();
        Service { dir, saved: vec![] }
    }

    /// Restores the archive saved under `exact`, else the newest whose key
    /// starts with one of `prefixes` (tried in order), into `dest`; ages
    /// what it restored by an hour and plants [`STALE`] under `path`.
    /// Returns whether `exact` matched, `None` when nothing did.
    fn restore(&self, exact: &str, prefixes: &[String], dest: &Path, path: &str) -> Option<bool> {
        let found = self
            .saved
            .iter()
            .rev()
            .find(|(k, _)| k == exact)
            .map(|(_, a)| (a, true))
            .or_else(|| {
                prefixes.iter().find_map(|p| {
                    self.saved
                        .iter()
                        .rev()
                        .find(|(k, _)| k.starts_with(p.as_str()))
                        .map(|(_, a)| (a, false))
                })
            });
        let (archive, exact) = found?;
        let mut tar = Command::new("tar");
        tar.arg("-xf").arg(archive).arg("-C").arg(dest);
        run_ok(&mut tar);
        let stale = dest.join(path).join(STALE);
        fs::create_dir_all(stale.parent().unwrap()).unwrap();
        fs::write(&stale, "an older commit's object\n").unwrap();
        for f in walk_files(&dest.join(path)) {
            set_age(&f, 3600);
        }
        Some(exact)
    }

    /// Saves `base/path` under `key` (GitLab overwrites a key; GitHub
    /// never saves a key twice: its caller does not ask).
    fn save(&mut self, key: &str, base: &Path, path: &str) {
        let archive = self.dir.join(format!("{}.tar", self.saved.len()));
        let mut tar = Command::new("tar");
        tar.arg("-cf").arg(&archive).arg("-C").arg(base).arg(path);
        run_ok(&mut tar);
        self.saved.retain(|(k, _)| k != key);
        self.saved.push((key.to_string(), archive));
    }

    /// The entry files of the newest archive, as paths in it.
    fn newest_entries(&self) -> Vec<String> {
        let (_, archive) = self.saved.last().expect("a saved cache");
        let mut tar = Command::new("tar");
        tar.arg("-tf").arg(archive);
        let out = run_ok(&mut tar);
        let mut names: Vec<String> = out
            .stdout_str()
            .lines()
            .filter(|l| l.ends_with('R') || l.ends_with('M'))
            .map(|l| l.split_once('/').map_or(l, |(_, rest)| rest).to_string())
            .collect();
        names.sort();
        names
    }
}

/// What one job did: whether it passed, and its log.
pub(crate) struct Job {
    pub(crate) ok: bool,
    pub(crate) log: String,
    /// The cache directory the job used, to read its counters.
    pub(crate) cache_dir: PathBuf,
}

/// The job's own counters (`objcache -z` ran first).
fn counters(job: &Job) -> Stats {
    let mut cmd = Command::new(objcache_bin());
    clean_env(&mut cmd)
        .arg("--print-stats")
        .env("CCACHE_DIR", &job.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
    parse_print_stats(&run_ok(&mut cmd).stdout_str())
}

fn run_recipe(block: &Block) {
    let started = Instant::now();
    let sandbox = Sandbox::new();
    let mut service = Service::new(sandbox.env.root().join("service"));
    let kind = block.ci().unwrap();
    let job = |service: &mut Service, n: usize| match kind {
        "github" => jobs::github(block, &sandbox, service, n),
        "gitlab" => jobs::gitlab(block, &sandbox, service, n),
        "docker" => docker::build(block, &sandbox, service, n),
        other => panic!("{}: unknown CI kind {other}", block.at),
    };
    let first = job(&mut service, 1);
    assert!(first.ok, "{} job 1:\n{}", block.at, first.log);
    assert_eq!(
        hits(&counters(&first)),
        0,
        "{} job 1 is cold:\n{}",
        block.at,
        first.log
    );
    // A BuildKit cache mount is not uploaded: nothing to evict or compare.
    let uploads = kind != "docker";
    let after_first = if uploads {
        service.newest_entries()
    } else {
        vec![]
    };

    let second = job(&mut service, 2);
    assert!(second.ok, "{} job 2:\n{}", block.at, second.log);
    let stats = counters(&second);
    assert_eq!(
        get(&stats, "cache_miss"),
        0,
        "{} job 2:\n{}",
        block.at,
        second.log
    );
    assert_eq!(hits(&stats), 3, "{} job 2:\n{}", block.at, second.log);
    // Job 1's misses are in the restored cache; job 2's log (GitLab's
    // after_script `objcache --explain`) must not report them as its own.
    assert!(
        !second.log.contains("first compile of"),
        "{} job 2 reports job 1's misses:\n{}",
        block.at,
        second.log
    );
    assert!(
        second.log.contains("hit rate 100.0%"),
        "{} job 2 checks its hit rate:\n{}",
        block.at,
        second.log
    );
    if uploads {
        let after_second = service.newest_entries();
        assert!(
            !after_second.iter().any(|e| e.ends_with(STALE)),
            "{}: the unused entry was uploaded: {after_second:?}",
            block.at
        );
        assert_eq!(
            after_first, after_second,
            "{}: job 2 saved what it used",
            block.at
        );
    }
    eprintln!("{}: 2 jobs in {:.1?}", block.at, started.elapsed());
}

fn recipes() -> Vec<Block> {
    all_blocks()
        .into_iter()
        .filter(|b| b.ci().is_some())
        .collect()
}

/// The guide's GitHub Actions, GitLab CI and Docker recipes run.
#[test]
fn every_documented_ci_recipe_runs_twice_and_hits_the_second_time() {
    require("gcc");
    require("g++");
    require("make");
    require("cmake");
    let recipes = recipes();
    let kinds: Vec<&str> = recipes.iter().filter_map(|b| b.ci()).collect();
    for kind in ["github", "gitlab", "docker"] {
        assert!(
            kinds.contains(&kind),
            "no {kind} recipe in the docs: {kinds:?}"
        );
    }
    for block in &recipes {
        run_recipe(block);
    }
}

/// The fixture the recipes check out.
pub(crate) fn checkout(dest: &Path) {
    copy_dir(&repo().join("fixtures/guide"), dest);
}
