//! A Dockerfile's build without Docker: the host stands for the base
//! image, a directory per build for the container's root (the image's
//! absolute paths are mapped into it), the context is a checkout of the
//! fixture with the objcache binary in it, and a `RUN --mount=type=cache`
//! target is a directory kept between builds, as BuildKit keeps it. Each
//! `RUN` runs with `/bin/sh -c`, as Docker's shell form does.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{checkout, Job, Service};
use crate::common::*;
use crate::doc_commands::{Block, Sandbox, NOT_RUN};

/// The Dockerfile's instructions, continuation lines joined.
fn instructions(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in body.lines() {
        if current.is_empty() && (line.trim().is_empty() || line.starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// A file of the context copied; the objcache binary (a link to the one
/// under test, not 90 MB copied for each COPY) linked again.
fn copy_file(src: &Path, dst: &Path) {
    match fs::read_link(src) {
        Ok(target) => std::os::unix::fs::symlink(target, dst).unwrap(),
        Err(_) => {
            fs::copy(src, dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
    }
}

fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            copy_file(&entry.path(), &to);
        }
    }
}

struct Build<'a> {
    root: PathBuf,
    context: PathBuf,
    cwd: PathBuf,
    env: BTreeMap<String, String>,
    mounts: &'a Path,
    log: String,
}

impl Build<'_> {
    /// An image path in the container root.
    fn inside(&self, image_path: &str) -> PathBuf {
        assert!(image_path.starts_with('/'), "not absolute: {image_path}");
        self.root.join(&image_path[1..])
    }

    fn copy(&self, args: &str) {
        let (src, dst) = args.split_once(' ').expect("COPY SRC DST");
        let dst = if dst == "." {
            self.cwd.clone()
        } else {
            self.inside(dst)
        };
        if src == "." {
            copy_tree(&self.context, &dst);
        } else {
            fs::create_dir_all(dst.parent().unwrap()).unwrap();
            copy_file(&self.context.join(src), &dst);
        }
    }

    fn set_env(&mut self, args: &str) {
        for pair in args.split_whitespace() {
            let (k, v) = pair.split_once('=').expect("ENV NAME=VALUE");
            let v = if v.starts_with('/') {
                self.inside(v).display().to_string()
            } else {
                v.to_string()
            };
            self.env.insert(k.to_string(), v);
        }
    }

    /// `RUN [--mount=type=cache,target=DIR] COMMAND`; false when it failed.
    fn run(&mut self, args: &str) -> bool {
        let mut command = args.trim_start();
        while let Some(rest) = command.strip_prefix("--mount=") {
            let (spec, tail) = rest.split_once(' ').unwrap();
            let target = spec
                .split(',')
                .find_map(|kv| kv.strip_prefix("target="))
                .expect("a mount's target");
            assert!(
                spec.split(',').any(|kv| kv == "type=cache"),
                "only cache mounts: {spec}"
            );
            let kept = self
                .mounts
                .join(target.trim_start_matches('/').replace('/', "_"));
            fs::create_dir_all(&kept).unwrap();
            let at = self.inside(target);
            fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(&kept, &at).unwrap();
            command = tail.trim_start();
        }
        if command.contains(NOT_RUN) {
            self.log.push_str(&format!("== not run: {command}\n"));
            return true;
        }
        let mut cmd = Command::new("/bin/sh");
        clean_env(&mut cmd)
            .args(["-c", command])
            .current_dir(&self.cwd)
            .env("HOME", self.inside("/root"))
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
            .envs(&self.env);
        let out = run_with_timeout(&mut cmd, Duration::from_secs(180));
        self.log
            .push_str(&format!("== RUN {command}\n{}\n", out.dump()));
        out.success()
    }
}

pub(super) fn build(block: &Block, sandbox: &Sandbox, _: &mut Service, n: usize) -> Job {
    let job = sandbox.env.root().join(format!("build{n}"));
    let context = job.join("context");
    checkout(&context);
    std::os::unix::fs::symlink(objcache_bin(), context.join("objcache")).unwrap();
    let root = job.join("root");
    let mounts = sandbox.env.root().join("buildkit-cache-mounts");
    let mut b = Build {
        cwd: root.clone(),
        root: root.clone(),
        context,
        env: BTreeMap::new(),
        mounts: &mounts,
        log: String::new(),
    };
    let path = format!(
        "{}:{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        b.inside("/usr/local/sbin").display(),
        b.inside("/usr/local/bin").display()
    );
    b.env.insert("PATH".into(), path);
    let mut ok = true;
    for ins in instructions(&block.body) {
        let (op, args) = ins.split_once(' ').unwrap_or((&ins, ""));
        match op {
            "FROM" => {}
            "COPY" => b.copy(args),
            "ENV" => b.set_env(args),
            "ARG" => {
                let (k, v) = args.split_once('=').expect("ARG NAME=DEFAULT");
                b.env.insert(k.to_string(), v.to_string());
            }
            "WORKDIR" => {
                b.cwd = b.inside(args);
                fs::create_dir_all(&b.cwd).unwrap();
            }
            "RUN" => ok = b.run(args),
            other => panic!("{}: the simulated builder has no {other}", block.at),
        }
        if !ok {
            break;
        }
    }
    let cache_dir = PathBuf::from(&b.env["CCACHE_DIR"]);
    Job {
        ok,
        log: b.log,
        cache_dir,
    }
}
