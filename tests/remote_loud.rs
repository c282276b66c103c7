//! A remote that cannot be used is said where the user looks: at the top
//! of `-s`, once by every manager command, in `--explain`, by
//! `--check-hit-rate`, and once per build on a terminal (never on a
//! stderr that is no terminal: configure checks compare it). And
//! `--check-remote` tries each backend with a probe entry. Against real
//! servers started here (redis-server, nginx) and dead ports.

use crate::common::servers::*;
use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A cache, a project with `a.c`, and the remote configured.
struct Setup {
    env: TestEnv,
    proj: PathBuf,
    remote: String,
}

impl Setup {
    fn new(remote: &str) -> Setup {
        let env = TestEnv::new();
        let proj = env.dir("proj");
        fs::write(proj.join("a.c"), "int f(int x) { return x + 1; }\n").unwrap();
        Setup {
            env,
            proj,
            remote: remote.to_string(),
        }
    }

    fn manager(&self, args: &[&str]) -> Out {
        let mut cmd = self.env.objcache_in(&self.proj, args);
        cmd.env("CCACHE_REMOTE_STORAGE", &self.remote);
        run(&mut cmd)
    }

    /// `objcache gcc -c a.c <extra>`: must succeed with gcc's object.
    #[track_caller]
    fn compile(&self, extra: &[&str]) -> Out {
        let mut a = args(&["-c", "a.c", "-o", "a.o"]);
        a.extend(args(extra));
        let expected = plain_object("gcc", &self.proj, &a, "a.o");
        Compile::new(&self.proj, "gcc", &a, "a.o")
            .env("CCACHE_REMOTE_STORAGE", &self.remote)
            .check_obj(&self.env, &expected)
            .out
    }
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    free_port()
}

/// Each kind of remote that cannot be used, with the URL as it must be
/// shown (masked), and a secret that must never be shown.
fn unusable_remotes(redis_with_password: &RedisServer, nginx: &Nginx) -> Vec<(String, String)> {
    let dead = dead_port();
    vec![
        // Unreachable.
        (
            format!("redis://127.0.0.1:{dead}"),
            format!("redis://127.0.0.1:{dead}"),
        ),
        (
            format!("http://127.0.0.1:{dead}/c"),
            format!("http://127.0.0.1:{dead}/c"),
        ),
        // Schemes objcache has no backend for.
        ("gs://bucket/ci".into(), "gs://bucket/ci".into()),
        ("gha://".into(), "gha://".into()),
        // A host name that never resolves.
        (
            "http://cache.invalid/c".into(),
            "http://cache.invalid/c".into(),
        ),
        // A wrong password.
        (
            format!(
                "redis://:wrong-Secret-7@127.0.0.1:{}",
                redis_with_password.port
            ),
            format!("redis://:********@127.0.0.1:{}", redis_with_password.port),
        ),
        // TLS towards a server that speaks plain HTTP (or, without a TLS
        // backend, a scheme objcache cannot use).
        (
            format!("https://127.0.0.1:{}/c", nginx.port),
            format!("https://127.0.0.1:{}/c", nginx.port),
        ),
    ]
}

#[test]
fn every_unusable_remote_is_said_by_s_the_manager_explain_and_the_gate() {
    require("gcc");
    let redis = RedisServer::start(&["--requirepass", "right-pw"]);
    let nginx = Nginx::start();
    for (url, shown) in unusable_remotes(&redis, &nginx) {
        let s = Setup::new(&url);
        assert!(s.manager(&["-z"]).success());
        // The compile succeeds with gcc's object, and says nothing on a
        // stderr that is no terminal.
        let out = s.compile(&[]);
        assert_eq!(out.stderr_str(), "", "{url}: {}", out.dump());

        // -s: at the top, with the URL, and the Remote storage section.
        let out = s.manager(&["-s"]);
        assert!(out.success(), "{url}: {}", out.dump());
        let text = out.stdout_str();
        let first = text.lines().next().unwrap_or_default();
        let wanted = format!("Warning: remote storage {shown} is not used: ");
        assert!(first.starts_with(&wanted), "{url}:\n{text}");
        assert!(text.contains("\nRemote storage:\n"), "{url}:\n{text}");
        assert!(
            !out.stderr_str().contains("remote storage"),
            "said twice: {}",
            out.dump()
        );

        // Any other command: once, on stderr, its stdout as it was.
        let out = s.manager(&["--print-stats", "-k", "max_size"]);
        assert!(out.success(), "{url}: {}", out.dump());
        let said = format!("objcache: warning: remote storage {shown} is not used: ");
        assert_eq!(
            out.stderr_str().matches(&said).count(),
            1,
            "{url}: {}",
            out.dump()
        );
        assert!(
            !out.stdout_str().contains("remote storage"),
            "{}",
            out.dump()
        );

        // --explain: the remote could not be asked for the missed entry.
        s.compile(&["-O1"]);
        let out = s.manager(&["--explain", "a.o"]);
        assert!(out.success(), "{url}: {}", out.dump());
        let cause = format!("remote storage could not be asked: {shown} (");
        assert!(
            out.stdout_str().starts_with(&cause),
            "{url}: {}",
            out.dump()
        );

        // The gate fails, naming the remote, even at a rate of 0%.
        let out = s.manager(&["--check-hit-rate", "0"]);
        assert_eq!(out.code(), Some(1), "{url}: {}", out.dump());
        let gate = "objcache: error: remote storage failed since the counters were zeroed";
        assert!(out.stderr_str().starts_with(gate), "{url}: {}", out.dump());
        assert!(out.stderr_str().contains(&shown), "{url}: {}", out.dump());
        assert_eq!(out.stderr_str().lines().count(), 1, "{}", out.dump());

        // No password anywhere: not in the file the manager reads either.
        let status = fs::read_to_string(s.env.cache_dir.join("remote-status")).unwrap();
        assert!(status.contains(&shown), "{status}");
        assert!(!status.contains("wrong-Secret-7"), "{status}");
    }
}

#[test]
fn a_working_remote_is_not_reported_and_its_section_is_shown() {
    require("gcc");
    let redis = RedisServer::start(&[]);
    let s = Setup::new(&redis.url());
    s.compile(&[]);
    let out = s.manager(&["-s", "-v"]);
    assert_eq!(out.stderr_str(), "", "{}", out.dump());
    let text = out.stdout_str();
    assert!(text.starts_with("Cacheable calls:"), "{text}");
    let section = &text[text.find("\nRemote storage:\n").expect(&text)..];
    assert!(
        section.contains("  Misses:") && section.contains("  Writes:"),
        "{text}"
    );
    // Not under Local storage, as before, nor among the call errors.
    let local = &text[text.find("Local storage:").unwrap()..text.find("\nRemote").unwrap()];
    assert!(!local.contains("Remote"), "{text}");
    assert!(!text.contains("Errors"), "{text}");
    // --print-stats keeps every counter name.
    let stats = s.env.stats();
    assert_eq!(get(&stats, "remote_storage_write"), 2, "{stats:?}");
    let out = s.manager(&["--check-hit-rate", "0"]);
    assert!(out.success(), "{}", out.dump());
}

/// Runs `script` on a terminal (a pty of `script -qc`); its output.
fn on_terminal(s: &Setup, script: &str) -> String {
    let bin_dir = objcache_bin().parent().unwrap().to_path_buf();
    let mut cmd = Command::new("script");
    clean_env(&mut cmd);
    cmd.args(["-qec", script, "/dev/null"])
        .current_dir(&s.proj)
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("SHELL", "/bin/sh")
        .env("CCACHE_DIR", &s.env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env("CCACHE_REMOTE_STORAGE", &s.remote);
    let out = run(&mut cmd);
    assert!(out.success(), "{script}: {}", out.dump());
    out.stdout_str()
}

#[test]
fn a_build_on_a_terminal_is_told_once_and_a_pipe_never() {
    require("gcc");
    require("script");
    let url = format!("redis://127.0.0.1:{}", dead_port());
    let s = Setup::new(&url);
    let said = format!("objcache: warning: remote storage {url} is not used");
    // One build: three compiles (misses, each asking the remote) in one
    // process group of one session.
    let build = "objcache gcc -c a.c -o a1.o && objcache gcc -O1 -c a.c -o a2.o \
                 && objcache gcc -O2 -c a.c -o a3.o";
    let text = on_terminal(&s, build);
    assert_eq!(text.matches(&said).count(), 1, "{text}");
    // The next build is told again.
    let text = on_terminal(&s, "objcache gcc -O3 -c a.c -o a4.o");
    assert_eq!(text.matches(&said).count(), 1, "{text}");
    // A local hit asks no remote: nothing to say.
    let text = on_terminal(&s, "objcache gcc -O3 -c a.c -o a4.o");
    assert_eq!(text.matches(&said).count(), 0, "{text}");

    // As a configure check runs it: stderr a pipe, a warning to compare.
    fs::write(
        s.proj.join("w.c"),
        "int g(void) { int unused; return 0; }\n",
    )
    .unwrap();
    for flags in [&["-Wall"][..], &["-Wall", "-Os"]] {
        let mut a = args(&["-c", "w.c", "-o", "w.o"]);
        a.extend(args(flags));
        let direct = plain("gcc", &s.proj, &a);
        let mut cmd = s
            .env
            .objcache_in(&s.proj, std::iter::once("gcc".into()).chain(a));
        cmd.env("CCACHE_REMOTE_STORAGE", &url);
        let cached = run(&mut cmd);
        assert!(cached.success(), "{}", cached.dump());
        assert!(!direct.stderr_str().is_empty());
        assert_eq!(
            cached.stderr_str(),
            direct.stderr_str(),
            "{}",
            cached.dump()
        );
    }
}

#[test]
fn a_terminal_told_nothing_when_the_mark_cannot_be_kept() {
    require("gcc");
    require("script");
    // A directory where the status file belongs: it can never be written,
    // so no build could be told only once: none is told.
    let url = format!("redis://127.0.0.1:{}", dead_port());
    let s = Setup::new(&url);
    fs::create_dir_all(s.env.cache_dir.join("remote-status/x")).unwrap();
    let text = on_terminal(&s, "objcache gcc -c a.c -o a1.o");
    assert!(!text.contains("is not used"), "{text}");
    // The manager still says what is configured and unusable by itself.
    let s = Setup::new("gs://bucket");
    fs::create_dir_all(s.env.cache_dir.join("remote-status")).unwrap();
    s.compile(&[]);
    let out = s.manager(&["-s"]);
    assert!(
        out.stdout_str()
            .starts_with("Warning: remote storage gs://bucket"),
        "{}",
        out.dump()
    );
}

/// `objcache --check-remote` with `remote` configured.
fn check_remote(env: &TestEnv, remote: &str) -> Out {
    let mut cmd = env.objcache();
    cmd.arg("--check-remote")
        .env("CCACHE_REMOTE_STORAGE", remote);
    run(&mut cmd)
}

/// The files below `dir`, but the directory tag a file backend writes.
fn left_in(dir: &Path) -> Vec<PathBuf> {
    walk_files(dir)
        .into_iter()
        .filter(|p| !p.ends_with("CACHEDIR.TAG"))
        .collect()
}

#[test]
fn check_remote_passes_live_backends_and_leaves_nothing_behind() {
    let redis = RedisServer::start(&["--requirepass", "pw-Check-3"]);
    let nginx = Nginx::start();
    let env = TestEnv::new();
    let dir = env.dir("shared");
    let remote = format!(
        "redis://:pw-Check-3@127.0.0.1:{} {} file:{}",
        redis.port,
        nginx.url("/c"),
        dir.display(),
    );
    let out = check_remote(&env, &remote);
    assert!(out.success(), "{}", out.dump());
    let lines: Vec<String> = out.stdout_str().lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{}", out.dump());
    let masked = format!("redis://:********@127.0.0.1:{}", redis.port);
    for (line, url) in
        lines
            .iter()
            .zip([masked, nginx.url("/c"), format!("file:{}", dir.display())])
    {
        let ok = format!("{url}: ok in ");
        assert!(line.starts_with(&ok), "{line}\n{}", out.dump());
        assert!(
            line.contains(" ms (wrote, read back and deleted a probe entry)"),
            "{line}"
        );
    }
    assert!(!out.stdout_str().contains("pw-Check-3"));
    assert_eq!(redis.dbsize(), 0, "the probe entry stays on redis");
    assert_eq!(left_in(&nginx.www), Vec::<PathBuf>::new());
    assert_eq!(left_in(&dir), Vec::<PathBuf>::new());
}

#[test]
fn check_remote_fails_with_a_clear_line() {
    let nginx = Nginx::start();
    let env = TestEnv::new();
    let dead = dead_port();
    let cases = [
        (
            format!("redis://127.0.0.1:{dead}"),
            format!("redis://127.0.0.1:{dead}: FAILED after "),
            " at write: ",
        ),
        (
            nginx.url("/ro/c"),
            format!("{}: FAILED after ", nginx.url("/ro/c")),
            " at write: HTTP PUT: status code: 403",
        ),
        (
            "gs://bucket/ci".to_string(),
            "gs://bucket/ci: FAILED after ".to_string(),
            " at open: unsupported remote storage URL",
        ),
    ];
    for (url, start, step) in &cases {
        let out = check_remote(&env, url);
        assert_eq!(out.code(), Some(1), "{}", out.dump());
        let line = out.stdout_str();
        assert!(
            line.starts_with(start) && line.contains(step),
            "{}",
            out.dump()
        );
        assert_eq!(
            out.stderr_str(),
            "objcache: error: remote storage check: 1 of 1 backends failed\n",
            "{}",
            out.dump()
        );
        // What failed is what -s shows from now on.
        let mut cmd = env.objcache();
        cmd.arg("-s").env("CCACHE_REMOTE_STORAGE", url);
        let shown = run_ok(&mut cmd).stdout_str();
        assert!(
            shown.starts_with(&format!("Warning: remote storage {url} is not used")),
            "{shown}"
        );
    }
    // A read-only backend is only read: it passes.
    let out = check_remote(&env, &format!("{}|read-only", nginx.url("/ro/c")));
    assert!(out.success(), "{}", out.dump());
    assert!(out.stdout_str().contains(": ok in "), "{}", out.dump());
    // Nothing configured: a failure that says so.
    let out = check_remote(&env, "");
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr_str().contains("no remote storage configured"),
        "{}",
        out.dump()
    );
    // One failing of two: both lines, and a failure.
    let both = format!("{} redis://127.0.0.1:{dead}", nginx.url("/c"));
    let out = check_remote(&env, &both);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert_eq!(out.stdout_str().lines().count(), 2, "{}", out.dump());
    assert!(
        out.stderr_str().contains("1 of 2 backends failed"),
        "{}",
        out.dump()
    );
}

/// `text` with every time in milliseconds (`1.9 ms`) as `N ms`.
fn without_times(text: &str) -> String {
    let mut words: Vec<&str> = text.split(' ').collect();
    for i in 1..words.len() {
        let number = words[i - 1];
        if words[i].starts_with("ms") && number.parse::<f64>().is_ok() {
            words[i - 1] = "N";
        }
    }
    words.join(" ")
}

/// The fenced block after `heading` in `doc`, fenced as `fence`.
fn block_after<'a>(doc: &'a str, heading: &str, fence: &str) -> &'a str {
    let section = &doc[doc.find(heading).expect(heading)..];
    let start = section.find(fence).expect(fence) + fence.len();
    let body = &section[start..];
    &body[..body.find("```").unwrap()]
}

/// The examples of docs/remote-storage.md, run as written: the
/// `--check-remote` call with its output (the documented hosts replaced by
/// servers started here, a read-only one for the failing line), the CI
/// step, and the `-s` warning of a dead server.
#[test]
fn the_documented_remote_checks_run_as_written() {
    require("gcc");
    let doc = include_str!("../docs/remote-storage.md");
    let redis = RedisServer::start(&[]);
    let nginx = Nginx::start();
    let here = |text: &str| {
        text.replace("redis://cache.internal:6379", &redis.url())
            .replace("http://cache.internal/objcache", &nginx.url("/ro/objcache"))
    };
    let block = block_after(doc, "## Checking the remotes", "```text\n");
    let (command, expected) = block.split_once('\n').unwrap();
    let command = here(command.strip_prefix("$ ").unwrap());
    let env = TestEnv::new();
    let bin_dir = objcache_bin().parent().unwrap().to_path_buf();
    let mut cmd = Command::new("sh");
    clean_env(&mut cmd);
    cmd.args(["-c", &format!("{command} 2>&1")])
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
    let out = run(&mut cmd);
    assert_eq!(out.code(), Some(1), "{command}: {}", out.dump());
    assert_eq!(
        without_times(&out.stdout_str()),
        without_times(&here(expected)),
        "{command}"
    );

    // The CI step is that command, in remote-storage.md and in ci.md.
    let step = block_after(doc, "Run it in CI before the build", "```yaml\n");
    assert_eq!(step.trim(), "- run: objcache --check-remote");
    let ci = include_str!("../docs/ci.md");
    let ci_steps = block_after(ci, "### With remote storage", "```yaml\n");
    assert!(
        ci_steps.contains("  - run: objcache --check-remote\n"),
        "{ci_steps}"
    );

    // The `-s` warning of a dead server, up to its time.
    let shown = block_after(doc, "**`objcache -s`**", "```text\n");
    let warning = shown.lines().next().unwrap().trim();
    let (head, tail) = warning.split_once("(failed last at ").unwrap();
    let dead = format!("redis://127.0.0.1:{}", dead_port());
    let s = Setup::new(&dead);
    s.compile(&[]);
    let out = s.manager(&["-s"]);
    let first = out
        .stdout_str()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let head = head.replace("redis://cache.internal:6379", &dead);
    assert!(
        first.starts_with(&format!("{head}(failed last at ")),
        "{first}\n{head}"
    );
    let tail_end = tail.split_once(" UTC").unwrap().1;
    assert!(first.ends_with(tail_end), "{first}\n{tail_end}");
}

/// `remote-status` is a file of a cache others may write: what it says is
/// shown without its control characters (escape sequences would reach
/// the terminal), a huge one is not read, and one the user cannot replace
/// (another user's, in a sticky shared directory) tells no one.
#[test]
fn a_planted_remote_status_is_read_safely() {
    require("gcc");
    let url = format!("redis://127.0.0.1:{}", dead_port());
    let s = Setup::new(&url);
    fs::create_dir_all(&s.env.cache_dir).unwrap();
    let status = s.env.cache_dir.join("remote-status");
    let planted = format!(
        "objcache-remote-status 1\nfailed 1 {url} refused\x1b]0;pwned\x07\x1b[2J\x1b[31m\n"
    );
    fs::write(&status, planted).unwrap();
    let out = s.manager(&["-s"]);
    let text = out.stdout_str();
    assert!(
        text.starts_with(&format!(
            "Warning: remote storage {url} is not used: refused"
        )),
        "{text}"
    );
    assert!(!text.contains(['\x1b', '\x07']), "{text:?}");
    let out = s.manager(&["-z"]);
    assert!(
        !out.stderr_str().contains(['\x1b', '\x07']),
        "{}",
        out.dump()
    );
    // Huge: no status.
    fs::write(&status, vec![b'x'; 8 << 20]).unwrap();
    let out = s.manager(&["-s"]);
    assert!(
        out.success() && !out.stdout_str().contains("Warning"),
        "{}",
        out.dump()
    );

    if !is_root() || !have("setpriv") || !have("script") {
        eprintln!("skipped the second user's part: needs root, setpriv and script");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    for p in [s.env.root(), s.proj.as_path()] {
        mode(p, 0o777);
    }
    mode(&s.env.cache_dir, 0o1777);
    let theirs = format!("objcache-remote-status 1\nfailed 1 {url} theirs\n");
    fs::write(&status, &theirs).unwrap();
    mode(&status, 0o600);
    let bin_dir = objcache_bin().parent().unwrap().to_path_buf();
    let mut cmd = Command::new("setpriv");
    clean_env(&mut cmd);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["script", "-qec", "objcache gcc -c a.c -o a.o", "/dev/null"])
        .current_dir(&s.proj)
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("SHELL", "/bin/sh")
        .env("HOME", s.env.root())
        .env("CCACHE_DIR", &s.env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env("CCACHE_REMOTE_STORAGE", &url);
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    assert!(!out.stdout_str().contains("is not used"), "{}", out.dump());
    let expected = plain_object("gcc", &s.proj, ["-c", "a.c", "-o", "b.o"], "b.o");
    assert_bytes_eq(&read(&s.proj.join("a.o")), &expected, "a.o");
    assert_eq!(fs::read_to_string(&status).unwrap(), theirs);
}

/// `read_only` writes nothing to the cache dir: no `remote-status`
/// either (the manager still says what it can find by itself).
#[test]
fn a_read_only_cache_keeps_no_remote_status() {
    require("gcc");
    let s = Setup::new(&format!("redis://127.0.0.1:{}", dead_port()));
    s.compile(&[]);
    let status = s.env.cache_dir.join("remote-status");
    fs::remove_file(&status).unwrap();
    let a = args(&["-c", "a.c", "-o", "a.o", "-O1"]);
    let expected = plain_object("gcc", &s.proj, &a, "a.o");
    Compile::new(&s.proj, "gcc", &a, "a.o")
        .env("CCACHE_REMOTE_STORAGE", &s.remote)
        .env("CCACHE_READONLY", "1")
        .check_obj(&s.env, &expected);
    assert!(!status.exists());
}
