//! ccache 4.13's directory-specific configuration: a `ccache.conf` in the
//! working directory or a parent, read between the cache's configuration
//! and the environment; where the search stops; what such a file may set
//! (`safe_dirs`); and files that must not be read (someone else's, one
//! everyone can write, a FIFO, a huge one, a loop), each of which ends in
//! a plain compile or a clear error, never a hang or a broken build.

use crate::common::*;
use crate::trust_config::as_user;
use std::fs;
use std::os::unix::fs::{chown, symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A user other than root, for files and directories not the caller's.
const OTHER: u32 = 4242;

/// A checkout: `<tmp>/proj` with `.git/` (a ceiling marker), the source
/// `x.c`, and `build/`, where the compiles run; `HOME` is `<tmp>/home`,
/// outside it.
struct Checkout {
    env: TestEnv,
    proj: PathBuf,
    build: PathBuf,
    home: PathBuf,
}

impl Checkout {
    fn new() -> Checkout {
        require("gcc");
        let env = TestEnv::new();
        let proj = env.dir("proj");
        fs::create_dir(proj.join(".git")).unwrap();
        fs::write(proj.join("x.c"), "int f(void) { return 42; }\n").unwrap();
        let build = env.dir("proj/build");
        let home = env.dir("home");
        Checkout {
            env,
            proj,
            build,
            home,
        }
    }

    /// The directory configuration file of the checkout.
    fn conf(&self) -> PathBuf {
        self.proj.join("ccache.conf")
    }

    fn write_conf(&self, text: &str) {
        fs::write(self.conf(), text).unwrap();
        chmod(&self.conf(), 0o644);
    }

    /// `objcache ARGS` in `build`.
    fn objcache(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.env.objcache_in(&self.build, args);
        cmd.env("HOME", &self.home);
        cmd
    }

    /// The compile of `x.c` in `build`, which must exit 0 and write the
    /// plain compiler's object; its output.
    #[track_caller]
    fn compile_with(&self, pre: &[&str], vars: &[(&str, &str)]) -> Out {
        let expected = plain_object("gcc", &self.build, ["-c", "../x.c", "-o", "x.o"], "x.o");
        let mut args: Vec<&str> = pre.to_vec();
        args.extend(["gcc", "-c", "../x.c", "-o", "x.o"]);
        let mut cmd = self.objcache(&args);
        cmd.envs(vars.iter().copied());
        let out = run_with_timeout(&mut cmd, Duration::from_secs(20));
        assert!(out.success(), "{}", out.dump());
        assert_bytes_eq(&read(&self.build.join("x.o")), &expected, "the object");
        out
    }

    #[track_caller]
    fn compile(&self) -> Out {
        self.compile_with(&[], &[])
    }

    /// `(origin) key = value` of `-p` in `build`, for `key`.
    fn shown(&self, key: &str, vars: &[(&str, &str)]) -> String {
        let mut cmd = self.objcache(&["-p"]);
        cmd.envs(vars.iter().copied());
        let out = run_ok(&mut cmd).stdout_str();
        let line = out.lines().find(|l| l.contains(&format!(") {key} = ")));
        line.unwrap_or_else(|| panic!("-p lacks {key}:\n{out}"))
            .to_string()
    }
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// The `objcache: warning:` lines of a call.
fn warnings(out: &Out) -> Vec<String> {
    out.stderr_str()
        .lines()
        .filter(|l| l.starts_with("objcache: warning:"))
        .map(str::to_string)
        .collect()
}

/// Values come from the nearest `ccache.conf` above the working directory,
/// over the cache's file and under the environment and the command line;
/// `-p` names the file. `CCACHE_CONFIGPATH` means that file only.
#[test]
fn a_directory_config_sits_between_the_cache_config_and_the_environment() {
    let c = Checkout::new();
    fs::create_dir_all(&c.env.cache_dir).unwrap();
    let cache_conf = c.env.cache_dir.join("ccache.conf");
    fs::write(&cache_conf, "max_files = 300\nnamespace = cache\n").unwrap();
    c.write_conf("max_files = 500\nnamespace = dir\n");
    let conf = c.conf().display().to_string();
    assert_eq!(
        c.shown("max_files", &[]),
        format!("({conf}) max_files = 500")
    );
    assert_eq!(
        c.shown("namespace", &[("CCACHE_NAMESPACE", "env")]),
        "(environment) namespace = env"
    );
    let only = [("CCACHE_CONFIGPATH", cache_conf.to_str().unwrap())];
    let shown = c.shown("max_files", &only);
    assert_eq!(shown, format!("({}) max_files = 300", cache_conf.display()));

    // The compiles take it: the namespace is part of every key.
    c.compile();
    c.compile();
    assert_eq!((c.env.misses(), c.env.hits()), (1, 1));
    c.write_conf("namespace = other\n");
    c.compile();
    assert_eq!((c.env.misses(), c.env.hits()), (2, 1));
    // The environment, and the command line over it, win.
    c.compile_with(&[], &[("CCACHE_NAMESPACE", "dir")]);
    assert_eq!((c.env.misses(), c.env.hits()), (2, 2));
    c.compile_with(&["namespace=dir"], &[("CCACHE_NAMESPACE", "x")]);
    assert_eq!((c.env.misses(), c.env.hits()), (2, 3));
}

/// A script that leaves `<marks>/ran` when it runs, then runs its command
/// line, for `prefix_command`.
fn marking_prefix(c: &Checkout) -> (PathBuf, PathBuf) {
    let marks = c.env.dir("marks");
    let script = c.env.root().join("prefix");
    let text = format!("#!/bin/sh\ntouch {}/ran\nexec \"$@\"\n", marks.display());
    fs::write(&script, text).unwrap();
    chmod(&script, 0o755);
    (script, marks.join("ran"))
}

/// Options that run programs (and the rest of the unsafe list, and
/// values with `$VARIABLES`) are taken from a directory's file only where
/// `safe_dirs` lists its directory; `safe_dirs` may come from anywhere but
/// such a file itself.
#[test]
fn unsafe_settings_need_safe_dirs() {
    let c = Checkout::new();
    let (script, ran) = marking_prefix(&c);
    c.write_conf(&format!("prefix_command = {}\n", script.display()));
    let proj = c.proj.display().to_string();
    let root = c.env.root().display().to_string();
    // Every call compiles: a hit runs no prefix.
    let compile = |pre: &[&str], vars: &[(&str, &str)]| {
        let mut vars = vars.to_vec();
        vars.push(("CCACHE_RECACHE", "1"));
        c.compile_with(pre, &vars)
    };
    let refused = |out: &Out| {
        assert!(!ran.exists(), "the prefix ran: {}", out.dump());
        let w = warnings(out);
        assert_eq!(w.len(), 1, "{}", out.dump());
        assert!(w[0].contains("ignoring prefix_command from"), "{w:?}");
        assert!(w[0].contains("safe_dirs does not list"), "{w:?}");
    };
    refused(&compile(&[], &[]));
    let below_only = format!("{proj}/*");
    refused(&compile(&[], &[("CCACHE_SAFE_DIRS", &below_only)]));
    refused(&compile(
        &[],
        &[("CCACHE_SAFE_DIRS", &format!("{proj}/build"))],
    ));

    let listed = [
        ("CCACHE_SAFE_DIRS", proj.clone()),
        ("CCACHE_SAFE_DIRS", format!("/nonexistent:{root}/*")),
        ("CCACHE_SAFE_DIRS", "*".to_string()),
    ];
    for (var, value) in listed {
        let out = compile(&[], &[(var, &value)]);
        assert!(ran.exists(), "{value}: {}", out.dump());
        assert_eq!(warnings(&out), Vec::<String>::new());
        fs::remove_file(&ran).unwrap();
    }
    let setting = format!("safe_dirs={proj}");
    compile(&[&setting], &[]);
    assert!(ran.exists(), "safe_dirs on the command line");
    fs::remove_file(&ran).unwrap();
    fs::create_dir_all(&c.env.cache_dir).unwrap();
    let cache_conf = c.env.cache_dir.join("ccache.conf");
    fs::write(&cache_conf, format!("safe_dirs = {root}/*\n")).unwrap();
    compile(&[], &[]);
    assert!(ran.exists(), "safe_dirs in the cache's configuration");
    fs::remove_file(&ran).unwrap();
    fs::remove_file(&cache_conf).unwrap();

    // The file cannot list itself.
    c.write_conf(&format!(
        "safe_dirs = *\nprefix_command = {}\n",
        script.display()
    ));
    let out = compile(&[], &[]);
    assert!(!ran.exists(), "{}", out.dump());
    assert!(warnings(&out)[0].contains("ignoring safe_dirs, prefix_command"));
    // Nor read the user's environment into a value.
    c.write_conf("namespace = $SECRET_TOKEN\n");
    let out = compile(&[], &[("SECRET_TOKEN", "t0k3n")]);
    assert!(
        warnings(&out)[0].contains("ignoring namespace"),
        "{}",
        out.dump()
    );
}

/// The search stops at a ceiling directory (not searched), after a
/// directory with a ceiling marker, at a directory of another user's or
/// one everyone can write, and at a file system boundary.
#[test]
fn the_search_stops_where_ccache_stops() {
    let c = Checkout::new();
    c.write_conf("max_files = 5\n");
    let read = |vars: &[(&str, &str)]| c.shown("max_files", vars).contains("ccache.conf)");
    assert!(read(&[]));
    let proj = c.proj.to_str().unwrap();
    let build = c.build.to_str().unwrap();
    // A ceiling: HOME by default, or ceiling_dirs.
    let mut cmd = c.objcache(&["-k", "max_files"]);
    cmd.env("HOME", &c.proj);
    assert_eq!(run_ok(&mut cmd).stdout_str(), "0\n");
    assert!(!read(&[("CCACHE_CEILING_DIRS", proj)]));
    assert!(read(&[(
        "CCACHE_CEILING_DIRS",
        &format!("/nonexistent:{build}/sub")
    )]));
    // A marker: the directory holding it is the last one searched.
    fs::create_dir(c.build.join(".git")).unwrap();
    assert!(!read(&[]));
    assert!(read(&[("CCACHE_CEILING_MARKERS", ".hg")]));
    assert!(read(&[("CCACHE_CEILING_MARKERS", "")]));
    fs::remove_dir(c.build.join(".git")).unwrap();
    // A directory everyone can write (/tmp) is no project's.
    chmod(&c.proj, 0o777);
    assert!(!read(&[]));
    chmod(&c.proj, 0o755);
    // Another user's directory.
    chown(&c.proj, Some(OTHER), Some(OTHER)).unwrap();
    assert!(!read(&[]));
    chown(&c.proj, Some(0), Some(0)).unwrap();
    assert!(read(&[]));
    // A file system boundary: build is a mount point.
    let Some(_mount) = Mount::tmpfs(&c.build, "size=1m") else {
        return;
    };
    assert!(!read(&[]));
}

/// What is put at the file's place, how, and what the warning says.
type Case<'a> = (&'a str, &'a dyn Fn(&Path), &'a str);

/// Each file that must not be read, or cannot be, at the nearest
/// `ccache.conf`: the compile runs uncached with one warning line naming
/// the file, counts `bad_config` and writes the plain object, at once; the
/// manager stops with the same error.
#[test]
fn a_bad_directory_config_compiles_uncached() {
    let c = Checkout::new();
    let conf = c.conf();
    let theirs = format!("it belongs to user {OTHER}, not to you");
    let cases: [Case; 6] = [
        (
            "world-writable",
            &|p| {
                fs::write(p, "max_files = 5\n").unwrap();
                chmod(p, 0o666);
            },
            "everyone can write it",
        ),
        (
            "another user's",
            &|p| {
                fs::write(p, "max_files = 5\n").unwrap();
                chown(p, Some(OTHER), Some(OTHER)).unwrap();
            },
            &theirs,
        ),
        (
            "a FIFO",
            &|p| {
                run_ok(std::process::Command::new("mkfifo").arg(p));
            },
            "not a regular file",
        ),
        (
            "a 1 GiB file",
            &|p| {
                fs::File::create(p).unwrap().set_len(1 << 30).unwrap();
            },
            "cannot read",
        ),
        (
            "a symlink loop",
            &|p| symlink("ccache.conf", p).unwrap(),
            "cannot read",
        ),
        (
            "a link to a device",
            &|p| symlink("/dev/zero", p).unwrap(),
            "not a regular file",
        ),
    ];
    for (n, (what, plant, message)) in cases.into_iter().enumerate() {
        let _ = fs::remove_file(&conf);
        plant(&conf);
        let out = c.compile();
        let w = warnings(&out);
        assert_eq!(w.len(), 1, "{what}: {}", out.dump());
        assert!(
            w[0].contains("bad configuration, compiling without the cache"),
            "{w:?}"
        );
        assert!(
            w[0].contains(&format!("{}: ", conf.display())),
            "{what}: {w:?}"
        );
        assert!(w[0].contains(message), "{what}: {w:?}");
        let mut s = c.objcache(&["-s"]);
        let s = run_with_timeout(&mut s, Duration::from_secs(10));
        assert_eq!(s.code(), Some(1), "{what}: {}", s.dump());
        assert!(s.stderr_str().contains(message), "{what}: {}", s.dump());
        let _ = fs::remove_file(&conf);
        assert_eq!(c.env.stat("bad_config"), n as u64 + 1, "{what}");
    }
    assert_eq!(c.env.stat("cache_miss"), 0);
}

/// The user's own link to their own file is followed (a configuration
/// kept with dotfiles), and a directory named `ccache.conf` is passed by.
#[test]
fn links_are_followed_and_directories_passed_by() {
    let c = Checkout::new();
    let dotfiles = c.env.dir("home/dotfiles");
    fs::write(dotfiles.join("proj.conf"), "max_files = 555\n").unwrap();
    symlink("../home/dotfiles/proj.conf", c.conf()).unwrap();
    fs::create_dir(c.build.join("ccache.conf")).unwrap();
    let shown = c.shown("max_files", &[]);
    assert_eq!(shown, format!("({}) max_files = 555", c.conf().display()));
    let out = c.compile();
    assert_eq!(warnings(&out), Vec::<String>::new());
    c.compile();
    assert_eq!(c.env.hits(), 1);
}

/// A file of the user's that they cannot read (mode 000; root reads
/// anything, so the compile runs as another user who owns the checkout).
#[test]
fn an_unreadable_directory_config_compiles_uncached() {
    require("setpriv");
    assert!(is_root(), "this test needs root, to run a second user");
    let c = Checkout::new();
    chmod(c.env.root(), 0o755);
    fs::create_dir_all(&c.env.cache_dir).unwrap();
    c.write_conf("max_files = 5\n");
    let theirs = [
        c.proj.clone(),
        c.proj.join(".git"),
        c.proj.join("x.c"),
        c.build.clone(),
        c.home.clone(),
        c.env.cache_dir.clone(),
        c.conf(),
    ];
    for p in &theirs {
        chown(p, Some(OTHER), Some(OTHER)).unwrap();
    }
    chmod(&c.conf(), 0o000);
    let expected = plain_object("gcc", &c.build, ["-c", "../x.c", "-o", "x.o"], "x.o");
    let args = ["gcc", "-c", "../x.c", "-o", "x.o"];
    let mut cmd = as_user(OTHER, &[], &c.env, &c.build, &args);
    cmd.env("HOME", &c.home);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(20));
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(&read(&c.build.join("x.o")), &expected, "the object");
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{}", out.dump());
    assert!(w[0].contains("cannot read: Permission denied"), "{w:?}");
}

/// With its working directory deleted under it (`getcwd` fails), a call
/// searches no directory and does what the plain compiler does there.
#[test]
fn a_deleted_working_directory_is_no_trouble() {
    let c = Checkout::new();
    c.write_conf("max_files = 5\n");
    let src = c.proj.join("x.c");
    let run_in_gone = |name: &str, command: &[&Path]| {
        let gone = c.env.dir(&format!("proj/{name}"));
        let mut cmd = std::process::Command::new("sh");
        clean_env(&mut cmd);
        cmd.args([
            "-c",
            "cd \"$1\" && rmdir \"$1\" && shift && exec \"$@\"",
            "sh",
        ])
        .arg(&gone)
        .args(command)
        .env("CCACHE_DIR", &c.env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env("HOME", &c.home);
        run_with_timeout(&mut cmd, Duration::from_secs(20))
    };
    let gcc = which("gcc").unwrap();
    let (plain_o, cached_o) = (c.build.join("plain.o"), c.build.join("cached.o"));
    let (c_flag, o_flag) = (Path::new("-c"), Path::new("-o"));
    let plain = run_in_gone("a", &[&gcc, c_flag, &src, o_flag, &plain_o]);
    let objcache = objcache_bin();
    let cached = run_in_gone("b", &[&objcache, &gcc, c_flag, &src, o_flag, &cached_o]);
    assert_eq!(
        cached.code(),
        plain.code(),
        "{}\n{}",
        cached.dump(),
        plain.dump()
    );
    if plain.success() {
        assert_bytes_eq(&read(&cached_o), &read(&plain_o), "the object");
    }
}
