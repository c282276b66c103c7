//! Shared helpers for the objcache integration tests.
//!
//! Every test creates its own [`TestEnv`] (a private temporary directory with
//! a private cache directory) and never changes the process working directory:
//! all commands get an explicit `current_dir`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub mod direct_mode;
pub mod node_exporter;
pub mod servers;

/// How to install the external tools the tests rely on.
pub const INSTALL_HINT: &str =
    "install the missing tools with: apt-get install -y gcc g++ clang cmake";

/// Default timeout for every command run by the helpers. A hang (e.g. an
/// objcache that recursively calls itself) turns into a test failure.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Path of the objcache binary under test.
pub fn objcache_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_objcache"))
}

/// The `fixtures/` directory of the repository.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Result of running a command.
#[derive(Debug, Clone)]
pub struct Out {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Out {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    pub fn success(&self) -> bool {
        self.status.success()
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// Human readable dump for assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout_str(),
            self.stderr_str()
        )
    }
    /// stderr with every line starting with `objcache:` removed (objcache is
    /// allowed to add its own diagnostics in fault situations, nothing else).
    pub fn stderr_without_objcache_lines(&self) -> Vec<u8> {
        strip_objcache_lines(&self.stderr)
    }
}

/// Remove lines that start with `objcache:` from a byte buffer.
pub fn strip_objcache_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in data.split_inclusive(|b| *b == b'\n') {
        if !line.starts_with(b"objcache:") {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Remove every `CCACHE_*` / `OBJCACHE_*` variable from a command's
/// environment and make diagnostics locale independent.
pub fn clean_env(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        let ks = k.to_string_lossy();
        if ks.starts_with("CCACHE_") || ks.starts_with("OBJCACHE_") {
            cmd.env_remove(&k);
        }
    }
    // gcc and clang honour these; keep output stable and identical between
    // plain and cached runs.
    cmd.env_remove("GCC_COLORS");
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd.env_remove("DEPENDENCIES_OUTPUT");
    cmd.env_remove("SUNPRO_DEPENDENCIES");
    cmd.env("LC_ALL", "C");
    cmd
}

/// Run a command (stdin closed) with the default timeout.
pub fn run(cmd: &mut Command) -> Out {
    run_with_timeout(cmd, TIMEOUT)
}

/// Run a command and panic (with full output) unless it exits 0.
pub fn run_ok(cmd: &mut Command) -> Out {
    let desc = format!("{cmd:?}");
    let out = run(cmd);
    assert!(out.success(), "command failed: {desc}\n{}", out.dump());
    out
}

/// Run a command; if it has not finished after `timeout`, kill its whole
/// process group and panic.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Out {
    // Whatever the test wrote just before is stored by the call it starts
    // (see `settle_stamps`), however the call is made: through a
    // masquerading link, a build tool, `setpriv` or `script`.
    settle_stamps();
    let desc = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {desc}: {e}"));
    let pid = child.id();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait().expect("try_wait") {
            Some(st) => break st,
            None => {
                if start.elapsed() > timeout {
                    kill_group(pid);
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("command timed out after {timeout:?} (hang or recursion?): {desc}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    };
    // Make sure no stray grandchildren keep the pipes open.
    let stdout = t_out.join().unwrap();
    let stderr = t_err.join().unwrap();
    Out {
        status,
        stdout,
        stderr,
    }
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Is `tool` available in PATH?
pub fn have(tool: &str) -> bool {
    which(tool).is_some()
}

/// Find `tool` in PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let p = dir.join(tool);
        if let Ok(md) = fs::metadata(&p) {
            use std::os::unix::fs::PermissionsExt;
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                return Some(p);
            }
        }
    }
    None
}

/// Fail loudly if a required tool is missing.
pub fn require(tool: &str) {
    assert!(
        have(tool),
        "required tool `{tool}` not found in PATH; {INSTALL_HINT}"
    );
}

/// Recursively copy a directory.
pub fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap_or_else(|e| panic!("mkdir {}: {e}", dst.display()));
    for entry in fs::read_dir(src).unwrap_or_else(|e| panic!("read_dir {}: {e}", src.display())) {
        let entry = entry.unwrap();
        let ty = entry.file_type().unwrap();
        let to = dst.join(entry.file_name());
        if ty.is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// Read a file, panicking with a useful message.
pub fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Remove a file if it exists.
pub fn rm(p: &Path) {
    match fs::remove_file(p) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot remove {}: {e}", p.display()),
    }
}

/// Assert two byte buffers are equal with a short, readable message.
#[track_caller]
pub fn assert_bytes_eq(actual: &[u8], expected: &[u8], what: &str) {
    if actual != expected {
        let pos = actual
            .iter()
            .zip(expected.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(actual.len().min(expected.len()));
        let is_text = |b: &[u8]| std::str::from_utf8(b).is_ok();
        if is_text(actual) && is_text(expected) {
            panic!(
                "{what}: contents differ (first difference at byte {pos})\n--- expected ---\n{}\n--- actual ---\n{}",
                String::from_utf8_lossy(expected),
                String::from_utf8_lossy(actual)
            );
        }
        panic!(
            "{what}: contents differ (actual {} bytes, expected {} bytes, first difference at byte {pos})",
            actual.len(),
            expected.len()
        );
    }
}

/// A private test environment: a temporary directory holding a cache
/// directory (`<tmp>/cache`) and whatever work directories a test creates.
pub struct TestEnv {
    pub tmp: TempDir,
    pub cache_dir: PathBuf,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let tmp = tempfile::Builder::new()
            .prefix("objcache-test-")
            .tempdir()
            .expect("create temp dir");
        let cache_dir = tmp.path().join("cache");
        TestEnv { tmp, cache_dir }
    }

    /// Root of the temporary directory.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// `<tmp>/<rel>`, created.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let p = self.root().join(rel);
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// Copy `fixtures/<name>` to `<tmp>/<dest_rel>` and return that path.
    pub fn copy_fixture(&self, name: &str, dest_rel: &str) -> PathBuf {
        let dst = self.root().join(dest_rel);
        copy_dir(&fixtures_dir().join(name), &dst);
        dst
    }

    /// A command running objcache with a clean environment: no `CCACHE_*`
    /// variables, `CCACHE_DIR=<tmp>/cache` and
    /// `OBJCACHE_SYSTEM_CONFIG=/nonexistent`.
    pub fn objcache(&self) -> Command {
        settle_stamps();
        let mut cmd = Command::new(objcache_bin());
        clean_env(&mut cmd);
        cmd.env("CCACHE_DIR", &self.cache_dir);
        cmd.env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
        cmd.current_dir(self.root());
        cmd
    }

    /// `objcache <args...>` run in `cwd`.
    pub fn objcache_in<I, S>(&self, cwd: &Path, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.objcache();
        cmd.current_dir(cwd).args(args);
        cmd
    }

    /// Parse `objcache --print-stats` (lines `name<TAB>value`).
    pub fn stats(&self) -> Stats {
        let mut cmd = self.objcache();
        cmd.arg("--print-stats");
        let out = run_ok(&mut cmd);
        parse_print_stats(&out.stdout_str())
    }

    /// A single counter; panics when `--print-stats` does not print it.
    #[track_caller]
    pub fn stat(&self, name: &str) -> u64 {
        get(&self.stats(), name)
    }

    /// `direct_cache_hit + preprocessed_cache_hit`.
    pub fn hits(&self) -> u64 {
        hits(&self.stats())
    }

    /// `cache_miss`.
    pub fn misses(&self) -> u64 {
        self.stat("cache_miss")
    }
}

/// The `name<TAB>value` lines of `--print-stats` (or `--print-usage`).
/// Looked up with [`get`], which panics on a name the output does not
/// have, so a misspelt counter fails its test instead of reading 0.
#[derive(Clone, PartialEq, Eq)]
pub struct Stats(BTreeMap<String, u64>);

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<'a> IntoIterator for &'a Stats {
    type Item = (&'a String, &'a u64);
    type IntoIter = std::collections::btree_map::Iter<'a, String, u64>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Parse the output of `--print-stats` (or `--print-usage`).
pub fn parse_print_stats(text: &str) -> Stats {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let (k, v) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("bad --print-stats line (no TAB): {line:?}"));
        let v: u64 = v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("bad --print-stats value in line {line:?}"));
        map.insert(k.to_string(), v);
    }
    Stats(map)
}

/// Counter `name`; panics when `stats` has no such line.
#[track_caller]
pub fn get(stats: &Stats, name: &str) -> u64 {
    match stats.0.get(name) {
        Some(v) => *v,
        None => panic!(
            "no counter {name:?} in the output (misspelt?); it has: {:?}",
            stats.0.keys().collect::<Vec<_>>()
        ),
    }
}

/// `--print-usage`'s `namespace_<ns>_files`: 0 when there is no such line,
/// as a namespace without files has none. (Only for namespaces that may be
/// gone; [`get`] is for lines that must be there.)
pub fn namespace_files(usage: &Stats, ns: &str) -> u64 {
    usage
        .0
        .get(&format!("namespace_{ns}_files"))
        .copied()
        .unwrap_or(0)
}

/// `direct_cache_hit + preprocessed_cache_hit`.
#[track_caller]
pub fn hits(stats: &Stats) -> u64 {
    get(stats, "direct_cache_hit") + get(stats, "preprocessed_cache_hit")
}

/// Run the real compiler without objcache.
pub fn plain<I, S>(compiler: &str, cwd: &Path, args: I) -> Out
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(compiler);
    clean_env(&mut cmd);
    cmd.current_dir(cwd).args(args);
    run(&mut cmd)
}

/// Run the real compiler, require success, and return the bytes of `output`
/// (relative to `cwd`), deleting it afterwards so a following objcache run
/// has to create it again.
pub fn plain_object<I, S>(compiler: &str, cwd: &Path, args: I, output: &str) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = plain(compiler, cwd, args);
    assert!(out.success(), "plain {compiler} failed:\n{}", out.dump());
    let p = cwd.join(output);
    let data = read(&p);
    rm(&p);
    data
}

/// Owned argument vector from string slices.
pub fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Source files of `fixtures/proj` compiled by several tests:
/// (compiler, source, object).
pub fn proj_units(cc: &str, cxx: &str) -> Vec<(String, &'static str, &'static str)> {
    vec![
        (cc.to_string(), "src/main.c", "main.o"),
        (cc.to_string(), "src/util.c", "util.o"),
        (cc.to_string(), "src/math.c", "math.o"),
        (cc.to_string(), "src/warn.c", "warn.o"),
        (cxx.to_string(), "src/thing.cpp", "thing.o"),
    ]
}

/// Parse a ccache-style size ("10G", "10.0G", "500M", "1.5GiB", "0", "3 GB")
/// into bytes. Suffixes k/M/G/T are decimal, Ki/Mi/Gi/Ti binary, default G.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().replace(' ', "");
    let idx = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(idx);
    let num: f64 = num.parse().ok()?;
    let suffix = suffix.trim_end_matches('B').trim_end_matches('b');
    let mult: f64 = match suffix {
        "" => {
            if num == 0.0 {
                1.0
            } else {
                1e9
            }
        }
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((num * mult).round() as u64)
}

/// Current UNIX time in seconds.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Is the current process running as root (euid 0)?
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A tmpfs mount that is unmounted (lazily if busy) when dropped.
pub struct Mount {
    pub path: PathBuf,
}

impl Mount {
    /// Mount a tmpfs at `path` with `options` (e.g. `size=64k` or `ro`).
    /// Returns `None` (after printing a skip message) when not running as
    /// root; panics if mounting fails as root.
    pub fn tmpfs(path: &Path, options: &str) -> Option<Mount> {
        fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(path)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Mount {
                path: path.to_path_buf(),
            }),
            Ok(o) => {
                if !is_root() {
                    eprintln!(
                        "SKIP: cannot mount tmpfs (not root): {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                    None
                } else {
                    panic!(
                        "mount -t tmpfs -o {options} failed as root: {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
            }
            Err(e) => {
                if !is_root() {
                    eprintln!("SKIP: cannot run mount (not root): {e}");
                    None
                } else {
                    panic!("cannot run mount: {e}");
                }
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Files under `dir` (recursively).
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let ty = e.file_type().unwrap();
            if ty.is_dir() {
                stack.push(e.path());
            } else if ty.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Cache entry files: every file under the cache dir except configuration
/// (`ccache.conf`), stats (`stats*`), lock (`*.lock`), `CACHEDIR.TAG` and
/// `inode-memo` files and anything under a `compilers`, `objcache-stats`
/// or `tmp` subdirectory.
pub fn cache_entry_files(cache_dir: &Path) -> Vec<PathBuf> {
    walk_files(cache_dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("stats")
                || name.ends_with(".lock")
                || name == "ccache.conf"
                || name == "CACHEDIR.TAG"
                || name == "inode-memo"
            {
                return false;
            }
            let rel = p.strip_prefix(cache_dir).unwrap();
            !rel.components().any(|c| {
                let c = c.as_os_str();
                c == "compilers" || c == "tmp" || c == "objcache-stats"
            })
        })
        .collect()
}

/// Write a C source with a large, incompressible initialized array (so the
/// object file is roughly `bytes` bytes).
pub fn write_big_source(path: &Path, bytes: usize, seed: u32) {
    let mut s = String::with_capacity(bytes * 5);
    s.push_str("const unsigned char big_table[] = {\n");
    let mut x: u32 = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    for i in 0..bytes {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.push_str(&(x & 0xff).to_string());
        s.push(',');
        if i % 32 == 31 {
            s.push('\n');
        }
    }
    s.push_str("};\nint big_get(int i) { return big_table[i]; }\n");
    fs::write(path, s).unwrap();
}

/// One compile command, run by the plain compiler and through objcache in
/// the same directory, so a test can check that objcache writes what the
/// compiler would.
///
/// `env` variables are objcache's (`CCACHE_*`, and anything else the cached
/// call needs): the plain compiler runs without them.
#[derive(Clone, Debug)]
pub struct Compile {
    pub cwd: PathBuf,
    pub cc: String,
    pub args: Vec<String>,
    /// The object, relative to `cwd`.
    pub obj: String,
    /// The dependency file, relative to `cwd`, when the call writes one.
    pub dep: Option<String>,
    pub envs: Vec<(String, String)>,
}

/// What one compile wrote: the object, the `.d` (when the [`Compile`] names
/// one), the call's output and how long it took.
#[derive(Debug)]
pub struct Produced {
    pub obj: Vec<u8>,
    pub dep: Option<Vec<u8>>,
    pub out: Out,
    pub took: Duration,
}

impl Compile {
    /// `cc args` in `cwd`, writing `obj`.
    pub fn new<S: AsRef<str>>(cwd: &Path, cc: &str, args: &[S], obj: &str) -> Compile {
        require(cc);
        Compile {
            cwd: cwd.to_path_buf(),
            cc: cc.to_string(),
            args: args.iter().map(|a| a.as_ref().to_string()).collect(),
            obj: obj.to_string(),
            dep: None,
            envs: Vec::new(),
        }
    }

    /// The call also writes the dependency file `dep`.
    pub fn dep(mut self, dep: &str) -> Compile {
        self.dep = Some(dep.to_string());
        self
    }

    /// Run objcache with `key=value` in its environment.
    pub fn env(mut self, key: &str, value: &str) -> Compile {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// Run objcache with these variables in its environment.
    pub fn envs<K: AsRef<str>, V: AsRef<str>>(mut self, vars: &[(K, V)]) -> Compile {
        for (k, v) in vars {
            self.envs
                .push((k.as_ref().to_string(), v.as_ref().to_string()));
        }
        self
    }

    fn outputs(&self) -> impl Iterator<Item = PathBuf> + '_ {
        std::iter::once(&self.obj)
            .chain(&self.dep)
            .map(|o| self.cwd.join(o))
    }

    fn clean(&self) {
        self.outputs().for_each(|p| rm(&p));
    }

    /// Runs `cmd` (after removing the outputs), requires success and every
    /// output, and reads them.
    #[track_caller]
    fn produce(&self, mut cmd: Command) -> Produced {
        self.clean();
        let desc = format!("{cmd:?}");
        let start = Instant::now();
        let out = run(&mut cmd);
        let took = start.elapsed();
        assert!(out.success(), "compile failed: {desc}\n{}", out.dump());
        for p in self.outputs() {
            assert!(
                p.exists(),
                "{} not written by {desc}\n{}",
                p.display(),
                out.dump()
            );
        }
        Produced {
            obj: read(&self.cwd.join(&self.obj)),
            dep: self.dep.as_ref().map(|d| read(&self.cwd.join(d))),
            out,
            took,
        }
    }

    /// The plain compiler's outputs for the files as they are now. They are
    /// removed afterwards, so objcache has to write them again.
    #[track_caller]
    pub fn plain(&self) -> Produced {
        let mut cmd = Command::new(&self.cc);
        clean_env(&mut cmd);
        cmd.current_dir(&self.cwd).args(&self.args);
        let got = self.produce(cmd);
        self.clean();
        got
    }

    /// objcache's outputs (left in place), compared with nothing.
    #[track_caller]
    pub fn cached(&self, env: &TestEnv) -> Produced {
        let mut cmd = env.objcache_in(&self.cwd, std::iter::once(&self.cc).chain(&self.args));
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        self.produce(cmd)
    }

    /// objcache's outputs, which must equal those of a plain compile run
    /// just before it (so of the files as they are now): object, `.d` and
    /// stderr.
    #[track_caller]
    pub fn check(&self, env: &TestEnv) -> Produced {
        let expected = self.plain();
        let got = self.cached(env);
        let what = self.describe();
        assert_bytes_eq(&got.obj, &expected.obj, &format!("object of {what}"));
        if let (Some(g), Some(e)) = (&got.dep, &expected.dep) {
            assert_bytes_eq(g, e, &format!("dependency file of {what}"));
        }
        assert_bytes_eq(
            &got.out.stderr,
            &expected.out.stderr,
            &format!("stderr of {what}"),
        );
        got
    }

    /// objcache's outputs, whose object must be `expected` (the plain
    /// compiler's, made earlier).
    #[track_caller]
    pub fn check_obj(&self, env: &TestEnv, expected: &[u8]) -> Produced {
        let got = self.cached(env);
        assert_bytes_eq(
            &got.obj,
            expected,
            &format!("object of {}", self.describe()),
        );
        got
    }

    /// The call, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{} {}` in {} (objcache env {:?})",
            self.cc,
            self.args.join(" "),
            self.cwd.display(),
            self.envs
        )
    }
}

/// A counter name `--print-stats` does not print is a test bug: the lookup
/// panics instead of reading 0 (which would make the test unable to fail).
#[test]
#[should_panic(expected = "no counter \"cache_mis\"")]
fn misspelt_counter_name_panics() {
    let s = TestEnv::new().stats();
    assert_eq!(get(&s, "cache_miss"), 0);
    get(&s, "cache_mis");
}

/// Sets a file's mtime `secs_ago` seconds into the past.
pub fn set_age(p: &Path, secs_ago: u64) {
    let t = std::time::SystemTime::now() - Duration::from_secs(secs_ago);
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
        .set_modified(t)
        .unwrap_or_else(|e| panic!("set mtime of {}: {e}", p.display()));
}

/// A cache directory shared by group `gid` the way a team sets one up
/// (setgid, group-writable, `umask = 002` in its ccache.conf), reachable,
/// like the returned sources directory, by every user.
pub fn group_shared_env(gid: u32) -> (TestEnv, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    // Anyone may write it, as the tests do, but replace only their own
    // files (sticky): whether a config is trusted depends on it.
    fs::set_permissions(env.root(), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::create_dir_all(&env.cache_dir).unwrap();
    std::os::unix::fs::chown(&env.cache_dir, None, Some(gid)).unwrap();
    fs::set_permissions(&env.cache_dir, fs::Permissions::from_mode(0o2775)).unwrap();
    fs::write(env.cache_dir.join("ccache.conf"), "umask = 002\n").unwrap();
    let src = env.dir("src");
    fs::set_permissions(&src, fs::Permissions::from_mode(0o777)).unwrap();
    (env, src)
}

/// Waits until the kernel's coarse clock, which file stamps come from, is a
/// millisecond past this moment (one tick at most: 4 ms with HZ=250).
/// objcache stores no compile whose inputs changed in the timestamp tick it
/// started in, since a rewrite later in that tick would not show; a test
/// that writes a file and compiles it at once lets that tick end first, as
/// the time between editing and building does.
pub fn settle_stamps() {
    let now = objcache::clock::now_ns() as i64;
    while objcache::clock::coarse_now_ns() < now + 1_000_000 {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `cmd` run as root with `gid` as its supplementary group: a member of a
/// group-shared cache's group, which a config file in the cache dir (that
/// the group can write) must be to make settings that run programs or
/// set the umask.
pub fn as_member_of(cmd: &mut Command, gid: u32) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setgroups is async-signal-safe and changes only the child.
    unsafe {
        cmd.pre_exec(move || {
            let groups = [gid as libc::gid_t];
            if libc::setgroups(1, groups.as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Writes a file, creating its directory.
pub fn write_file(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap())
        .unwrap_or_else(|e| panic!("create the directory of {}: {e}", path.display()));
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A fresh env holding a copy of the `proj` fixture (which needs gcc);
/// returns (the env, the project directory).
pub fn proj_fixture() -> (TestEnv, PathBuf) {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    (env, proj)
}

/// Whether `p` is an output's miss inputs (`<64 hex digits>X`, the data of
/// `--explain`): a cache file whose size counts, but not one of the files
/// `files_in_cache` counts (ccache has none).
pub fn is_miss_inputs(p: &Path) -> bool {
    let name = p.file_name().unwrap_or_default().to_string_lossy();
    name.len() == 65 && name.ends_with('X') && name[..64].bytes().all(|b| b.is_ascii_hexdigit())
}

/// How many of `files` `files_in_cache` counts: all but miss inputs.
pub fn counted_files<'a>(files: impl IntoIterator<Item = &'a PathBuf>) -> u64 {
    files.into_iter().filter(|p| !is_miss_inputs(p)).count() as u64
}

/// A loop-mounted ext4 with 1-second stamps (as ext3, HFS+, FAT and some
/// NFS servers stamp), unmounted when dropped (also
/// when the test fails), before the temporary directory holding it goes.
pub struct CoarseFs {
    pub mnt: PathBuf,
}

impl CoarseFs {
    /// Mounts a fresh image under `root`, or says why it cannot (visibly:
    /// the test then checks nothing).
    pub fn mount(root: &Path) -> Option<CoarseFs> {
        let image = root.join("coarse.img");
        let mnt = root.join("coarse");
        fs::create_dir_all(&mnt).unwrap();
        fs::File::create(&image)
            .and_then(|f| f.set_len(32 << 20))
            .unwrap();
        let steps: [&[&str]; 2] = [
            &["mkfs.ext4", "-q", "-F", "-I", "128"],
            &["mount", "-o", "loop"],
        ];
        for (i, step) in steps.iter().enumerate() {
            let mut cmd = Command::new(step[0]);
            cmd.args(&step[1..]).arg(&image);
            if i == 1 {
                cmd.arg(&mnt);
            }
            let why = match cmd.output() {
                Ok(o) if o.status.success() => continue,
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            eprintln!("SKIP: cannot {} a 1-second ext4 image: {why}", step[0]);
            return None;
        }
        let fs = CoarseFs { mnt };
        fs.assert_whole_seconds();
        Some(fs)
    }

    /// The file system must stamp whole seconds, or the test proves nothing.
    fn assert_whole_seconds(&self) {
        use std::os::unix::fs::MetadataExt;
        let probe = self.mnt.join("probe");
        for i in 0..3 {
            fs::write(&probe, format!("{i}")).unwrap();
            let m = fs::metadata(&probe).unwrap();
            assert_eq!(
                (m.mtime_nsec(), m.ctime_nsec()),
                (0, 0),
                "the loop-mounted ext4 does not have 1-second stamps"
            );
            std::thread::sleep(Duration::from_millis(7));
        }
        fs::remove_file(&probe).unwrap();
    }
}

impl Drop for CoarseFs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.mnt)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
        }
    }
}

/// A copy of `from` at `to` with fresh stamps and inodes, as a fresh
/// clone or a CI checkout has them (`cp -r`, no `-p`).
pub fn fresh_copy(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success(), "cp -r {} {}", from.display(), to.display());
}

/// Waits for the next whole second: `-z` is stamped in seconds (and a
/// miss of the second it happened in is told from it by the ns file).
pub fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()),
    ));
}

/// Writes sources `{prefix}{i}.c` into `dir` and returns the names of the
/// first `n` whose result entry, compiled as `gcc -c NAME` with
/// `CCACHE_NODIRECT=1` (one counted file per compile), lands in level-1
/// directory `shard`: each directory is held to its own share of the
/// limits, so a test of a limit stores into one. Found by compiling each
/// candidate into a scratch cache (the key does not depend on the cache).
pub fn sources_in_shard(
    env: &TestEnv,
    dir: &Path,
    prefix: &str,
    shard: u8,
    n: usize,
) -> Vec<String> {
    let probe = env.dir(&format!("probe-cache-{prefix}"));
    let results_in = |d: &Path| {
        walk_files(&d.join(format!("{shard:x}")))
            .iter()
            .filter(|p| p.to_string_lossy().ends_with('R'))
            .count()
    };
    let mut found = Vec::new();
    for i in 0..3000 {
        if found.len() == n {
            return found;
        }
        let name = format!("{prefix}{i}.c");
        let code = format!("int {prefix}_{i}(int x) {{ return x * {i} + 1; }}\n");
        fs::write(dir.join(&name), code).unwrap();
        let before = results_in(&probe);
        let mut cmd = env.objcache_in(dir, ["gcc", "-c", name.as_str()]);
        run_ok(cmd.env("CCACHE_DIR", &probe).env("CCACHE_NODIRECT", "1"));
        if results_in(&probe) > before {
            found.push(name);
        }
    }
    panic!("fewer than {n} sources with results in {shard:x}/");
}
