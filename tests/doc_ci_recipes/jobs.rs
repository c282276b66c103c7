//! A GitHub Actions job and a GitLab CI job, as their runners run them:
//! each `run:` step in its own `bash -e -o pipefail` (GitHub), the
//! `before_script` and `script` lines in one shell and `after_script` in
//! another (GitLab), with the cache restored first and saved last.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use super::yaml::Yaml;
use super::{checkout, Job, Service};
use crate::common::*;
use crate::doc_commands::{runnable_lines, Block, Sandbox, NOT_RUN};

type Env = BTreeMap<String, String>;

fn run_shell(sandbox: &Sandbox, script: &str, cwd: &std::path::Path, env: &Env) -> Out {
    let mut cmd = sandbox.bash(script, cwd);
    cmd.envs(env);
    run_with_timeout(&mut cmd, Duration::from_secs(180))
}

fn log_step(log: &mut String, what: &str, out: &Out) {
    log.push_str(&format!("== {what}\n{}\n", out.dump()));
}

/// `${{ github.… }}` and `${{ runner.… }}` expressions, as the runner
/// fills them in for job `n` (a commit of its own).
fn github_expr(text: &str, workspace: &str, n: usize) -> String {
    let mut out = text.to_string();
    while let Some(start) = out.find("${{") {
        let end = start + out[start..].find("}}").expect("a closing }}") + 2;
        let value = match out[start + 3..end - 2].trim() {
            "github.workspace" => workspace.to_string(),
            "runner.os" => "Linux".to_string(),
            "github.sha" => format!("{n:040}"),
            "github.ref_name" => "main".to_string(),
            other => panic!("the simulated runner has no ${{{{ {other} }}}}"),
        };
        out.replace_range(start..end, &value);
    }
    out
}

/// Whether a step's `if:` holds: the few conditions the recipes use.
fn github_if(cond: Option<String>, failed: bool, env: &Env) -> bool {
    let Some(cond) = cond else { return !failed };
    match cond.as_str() {
        "always()" => true,
        "failure()" => failed,
        "success()" => !failed,
        _ => {
            let (var, value) = cond
                .strip_prefix("env.")
                .and_then(|c| c.split_once(" == "))
                .unwrap_or_else(|| panic!("the simulated runner cannot evaluate if: {cond}"));
            !failed && env.get(var).map(String::as_str) == Some(value.trim_matches('\''))
        }
    }
}

pub(super) fn github(block: &Block, sandbox: &Sandbox, service: &mut Service, n: usize) -> Job {
    let doc = Yaml::parse(&block.body);
    for (key, _) in doc.map() {
        assert!(
            ["jobs", "name", "on"].contains(&key.as_str()),
            "{}: {key}",
            block.at
        );
    }
    let jobs = doc.get("jobs").unwrap().map();
    assert_eq!(jobs.len(), 1, "{}: one job", block.at);
    let job = &jobs[0].1;
    let workspace = sandbox.env.root().join(format!("job{n}/work"));
    let ws = workspace.display().to_string();
    fs::create_dir_all(&workspace).unwrap();
    let mut env = Env::new();
    for (key, value) in job.get("env").map(Yaml::map).unwrap_or_default() {
        env.insert(key.clone(), github_expr(&value.str(), &ws, n));
    }
    let github_env = sandbox.env.root().join(format!("job{n}/github_env"));
    let summary = sandbox.env.root().join(format!("job{n}/summary.md"));
    fs::write(&github_env, "").unwrap();
    env.insert("GITHUB_ENV".into(), github_env.display().to_string());
    env.insert("GITHUB_STEP_SUMMARY".into(), summary.display().to_string());
    env.insert("GITHUB_WORKSPACE".into(), ws.clone());
    let (mut failed, mut log, mut save) = (false, String::new(), None);
    for (key, _) in job.map() {
        assert!(
            ["runs-on", "env", "steps"].contains(&key.as_str()),
            "{}: {key}",
            block.at
        );
    }
    for step in job.get("steps").unwrap().seq() {
        for (key, _) in step.map() {
            assert!(
                ["uses", "with", "run", "name", "if", "continue-on-error"].contains(&key.as_str()),
                "{}: a step's {key}",
                block.at
            );
        }
        if !github_if(step.get("if").map(Yaml::str), failed, &env) {
            continue;
        }
        if let Some(uses) = step.get("uses").map(Yaml::str) {
            match uses.as_str() {
                "actions/checkout@v4" => checkout(&workspace),
                "actions/cache@v4" => {
                    let with = step.get("with").unwrap();
                    let path = with.get("path").unwrap().str();
                    let key = github_expr(&with.get("key").unwrap().str(), &ws, n);
                    let prefixes: Vec<String> = with
                        .get("restore-keys")
                        .map(|r| github_expr(&r.str(), &ws, n))
                        .unwrap_or_default()
                        .lines()
                        .map(str::to_owned)
                        .collect();
                    let hit = service.restore(&key, &prefixes, &workspace, &path);
                    log.push_str(&format!("== cache {key}: restored {hit:?}\n"));
                    if hit != Some(true) {
                        save = Some((key, path));
                    }
                }
                other => panic!("{}: the simulated runner has no action {other}", block.at),
            }
            continue;
        }
        let run = step.get("run").expect("a step runs or uses");
        if run.raw().lines().count() == 1 && run.raw().contains(NOT_RUN) {
            log.push_str(&format!("== not run: {}\n", run.raw()));
            continue;
        }
        let out = run_shell(
            sandbox,
            &runnable_lines(&run.str(), &block.at),
            &workspace,
            &env,
        );
        log_step(&mut log, &run.str(), &out);
        let tolerated = step
            .get("continue-on-error")
            .is_some_and(|c| c.str() == "true");
        failed |= !out.success() && !tolerated;
        for line in fs::read_to_string(&github_env).unwrap().lines() {
            let (k, v) = line
                .split_once('=')
                .expect("GITHUB_ENV lines are NAME=VALUE");
            env.insert(k.to_string(), v.to_string());
        }
    }
    if let (false, Some((key, path))) = (failed, save) {
        service.save(&key, &workspace, &path);
    }
    let cache_dir = std::path::PathBuf::from(&env["CCACHE_DIR"]);
    Job {
        ok: !failed,
        log,
        cache_dir,
    }
}

/// GitLab's predefined variables the recipes use, for job `n`.
fn gitlab_vars(project: &str) -> Env {
    [
        ("CI_PROJECT_DIR", project),
        ("CI_COMMIT_REF_SLUG", "main"),
        ("CI_DEFAULT_BRANCH", "main"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `$NAME` and `${NAME}` of `vars` in `text`, as GitLab expands them in
/// variables and cache keys.
fn gitlab_expand(text: &str, vars: &Env) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out
            .replace(&format!("${{{k}}}"), v)
            .replace(&format!("${k}"), v);
    }
    out
}

fn script_lines(job: &Yaml, key: &str, at: &str) -> String {
    let lines: Vec<String> = job
        .get(key)
        .map(Yaml::seq)
        .unwrap_or_default()
        .iter()
        .map(|l| l.str())
        .collect();
    runnable_lines(&(lines.join("\n") + "\n"), at)
}

pub(super) fn gitlab(block: &Block, sandbox: &Sandbox, service: &mut Service, n: usize) -> Job {
    let doc = Yaml::parse(&block.body);
    let jobs = doc.map();
    assert_eq!(jobs.len(), 1, "{}: one job", block.at);
    let job = &jobs[0].1;
    for (key, _) in job.map() {
        assert!(
            [
                "image",
                "variables",
                "cache",
                "before_script",
                "script",
                "after_script"
            ]
            .contains(&key.as_str()),
            "{}: {key}",
            block.at
        );
    }
    let project = sandbox.env.root().join(format!("job{n}/project"));
    checkout(&project);
    let mut env = gitlab_vars(&project.display().to_string());
    for (key, value) in job.get("variables").map(Yaml::map).unwrap_or_default() {
        let value = gitlab_expand(&value.str(), &env);
        env.insert(key.clone(), value);
    }
    let cache = job.get("cache").expect("a cache");
    let key = gitlab_expand(&cache.get("key").unwrap().str(), &env);
    let fallbacks: Vec<String> = cache
        .get("fallback_keys")
        .map(Yaml::seq)
        .unwrap_or_default()
        .iter()
        .map(|k| gitlab_expand(&k.str(), &env))
        .collect();
    let paths = cache.get("paths").unwrap().seq();
    assert_eq!(paths.len(), 1, "{}: one cache path", block.at);
    let path = paths[0].str();
    // GitLab's keys are exact, the fallbacks too.
    let restored = service.restore(&key, &[], &project, &path).or_else(|| {
        fallbacks
            .iter()
            .find_map(|f| service.restore(f, &[], &project, &path))
    });
    let mut log = format!("== cache {key}: restored {restored:?}\n");
    let script =
        script_lines(job, "before_script", &block.at) + &script_lines(job, "script", &block.at);
    let out = run_shell(sandbox, &script, &project, &env);
    log_step(&mut log, &script, &out);
    let after = run_shell(
        sandbox,
        &script_lines(job, "after_script", &block.at),
        &project,
        &env,
    );
    log_step(&mut log, "after_script", &after);
    let ok = out.success() && after.success();
    if out.success() {
        service.save(&key, &project, &path);
    }
    let cache_dir = std::path::PathBuf::from(&env["CCACHE_DIR"]);
    Job { ok, log, cache_dir }
}
