//! A ccache user's own configuration: when objcache has no configuration
//! file of its own in the user's configuration directory, it reads the
//! one ccache would (`~/.ccache/ccache.conf` when `~/.ccache` exists, else
//! `$XDG_CONFIG_HOME/ccache/ccache.conf`, else
//! `~/.config/ccache/ccache.conf`), shows it as the origin in `-p`, and
//! never writes it. A `cache_dir` set there is ccache's cache: objcache
//! keeps its own in `objcache/` inside it, so neither tool writes entries
//! into the other's layout, and a real ccache keeps hitting.

use super::*;
use std::process::Command;

/// A home directory and a source directory, with no `CCACHE_*` variable
/// and no XDG variable set.
struct Home {
    env: TestEnv,
    home: PathBuf,
    src: PathBuf,
}

impl Home {
    fn new() -> Home {
        require("gcc");
        let env = TestEnv::new();
        let home = env.dir("home");
        let src = env.dir("src");
        fs::write(src.join("x.c"), "int f(void) { return 7; }\n").unwrap();
        Home { env, home, src }
    }

    /// `objcache ARGS` in the source directory, as this user.
    fn objcache(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(objcache_bin());
        clean_env(&mut cmd);
        cmd.args(args)
            .current_dir(&self.src)
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
        cmd
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.home.join(rel);
        write_file(&path, text);
        path
    }

    /// `(origin) key = value` of `-p`, for `key`.
    fn shown(&self, key: &str) -> String {
        let out = run_ok(&mut self.objcache(&["-p"])).stdout_str();
        let line = out.lines().find(|l| l.contains(&format!(") {key} = ")));
        line.unwrap_or_else(|| panic!("-p lacks {key}:\n{out}"))
            .to_string()
    }

    /// A compile of `x.c` that must write the plain compiler's object.
    fn compile(&self) -> Out {
        let args = ["-c", "x.c", "-o", "x.o"];
        let expected = plain_object("gcc", &self.src, args, "x.o");
        let mut cmd = self.objcache(&["gcc", "-c", "x.c", "-o", "x.o"]);
        let out = run_ok(&mut cmd);
        assert_bytes_eq(&read(&self.src.join("x.o")), &expected, "the object");
        out
    }
}

/// ccache's file is read while objcache has none; once objcache has one,
/// only that is read. ccache's order of places is kept.
#[test]
fn a_ccache_users_config_is_read_when_objcache_has_none() {
    let h = Home::new();
    let theirs = h.write(".config/ccache/ccache.conf", "max_files = 1234\n");
    let shown = h.shown("max_files");
    assert_eq!(shown, format!("({}) max_files = 1234", theirs.display()));
    // The cache stays objcache's own.
    let own_cache = h.home.join(".cache/objcache");
    let cache = h.shown("cache_dir");
    assert_eq!(
        cache,
        format!("(default) cache_dir = {}", own_cache.display())
    );
    h.compile();
    assert!(own_cache.join("objcache-stats").is_dir());
    // XDG_CONFIG_HOME, then the legacy ~/.ccache, as ccache looks.
    let xdg = h.env.dir("xdg");
    let in_xdg = xdg.join("ccache/ccache.conf");
    write_file(&in_xdg, "max_files = 55\n");
    let mut cmd = h.objcache(&["-k", "max_files"]);
    cmd.env("XDG_CONFIG_HOME", &xdg);
    assert_eq!(run_ok(&mut cmd).stdout_str(), "55\n");
    let legacy = h.write(".ccache/ccache.conf", "max_files = 66\n");
    let shown = h.shown("max_files");
    assert_eq!(shown, format!("({}) max_files = 66", legacy.display()));
    // objcache's own file, once there, is the one read.
    let own = h.write(".config/objcache/ccache.conf", "max_size = 2G\n");
    assert_eq!(h.shown("max_files"), "(default) max_files = 0");
    let shown = h.shown("max_size");
    assert_eq!(shown, format!("({}) max_size = 2.0G", own.display()));
}

/// `-o`, `-M` and `-F` write objcache's own file, never ccache's: the
/// first one starts it with ccache's settings (so none gets lost), and
/// leaves out what ccache's file was not trusted to set.
#[test]
fn settings_are_written_into_objcaches_own_file() {
    let h = Home::new();
    let text = "max_files = 1234\nsloppiness = time_macros\n";
    let theirs = h.write(".config/ccache/ccache.conf", text);
    run_ok(&mut h.objcache(&["-M", "3G"]));
    assert_eq!(fs::read_to_string(&theirs).unwrap(), text, "ccache's file");
    let own = h.home.join(".config/objcache/ccache.conf");
    let kept = h.shown("sloppiness");
    assert_eq!(
        kept,
        format!("({}) sloppiness = time_macros", own.display())
    );
    assert_eq!(
        h.shown("max_files"),
        format!("({}) max_files = 1234", own.display())
    );
    assert_eq!(
        h.shown("max_size"),
        format!("({}) max_size = 3.0G", own.display())
    );

    // A file everyone can write sets no program to run, in either file.
    fs::remove_file(&own).unwrap();
    fs::write(&theirs, "prefix_command = /bin/false\nmax_files = 9\n").unwrap();
    chmod(&theirs, 0o666);
    let out = run_ok(&mut h.objcache(&["-F", "10"]));
    assert!(
        out.stderr_str().contains("ignoring prefix_command"),
        "{}",
        out.dump()
    );
    let written = fs::read_to_string(&own).unwrap();
    assert!(!written.contains("prefix_command"), "{written}");
    assert!(written.contains("max_files = 10"), "{written}");
}

/// ccache's `cache_dir` is ccache's cache: objcache keeps its entries and
/// counters in `objcache/` inside it, so ccache's layout and statistics
/// stay ccache's own and a real ccache (4.7.5 here) goes on hitting.
#[test]
fn ccaches_cache_dir_gets_objcache_a_directory_of_its_own() {
    let h = Home::new();
    let shared = h.home.join("ccache-cache");
    let theirs = h.write(
        ".config/ccache/ccache.conf",
        &format!("cache_dir = {}\n", shared.display()),
    );
    let own = shared.join("objcache");
    let shown = h.shown("cache_dir");
    assert_eq!(
        shown,
        format!("({}) cache_dir = {}", theirs.display(), own.display())
    );
    let ccache = which("ccache").filter(|p| {
        let out = Command::new(p).arg("--version").output().unwrap();
        !String::from_utf8_lossy(&out.stdout).contains("objcache")
    });
    let real = |args: &[&str]| {
        let mut cmd = Command::new(ccache.as_ref().unwrap());
        clean_env(&mut cmd);
        cmd.args(args)
            .current_dir(&h.src)
            .env("HOME", &h.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME");
        run_ok(&mut cmd)
    };
    if ccache.is_some() {
        real(&["gcc", "-c", "x.c", "-o", "x.o"]);
    } else {
        eprintln!("SKIP (part): no real ccache to share the directory with");
    }
    let before: Vec<PathBuf> = walk_files(&shared)
        .into_iter()
        .filter(|p| !p.starts_with(&own))
        .collect();
    h.compile();
    h.compile();
    let stats = parse_print_stats(&run_ok(&mut h.objcache(&["--print-stats"])).stdout_str());
    assert_eq!((get(&stats, "cache_miss"), hits(&stats)), (1, 1));
    assert!(own.join("objcache-stats").is_dir());
    let after: Vec<PathBuf> = walk_files(&shared)
        .into_iter()
        .filter(|p| !p.starts_with(&own))
        .collect();
    assert_eq!(after, before, "objcache wrote outside its own directory");
    if ccache.is_some() {
        real(&["gcc", "-c", "x.c", "-o", "x.o"]);
        let stats = parse_print_stats(&real(&["--print-stats"]).stdout_str());
        assert_eq!((get(&stats, "cache_miss"), hits(&stats)), (1, 1));
        // ccache's clear, cleanup and recompression leave objcache's alone.
        real(&["-C"]);
        real(&["-c"]);
        real(&["-X", "5"]);
        h.compile();
        let stats = parse_print_stats(&run_ok(&mut h.objcache(&["--print-stats"])).stdout_str());
        assert_eq!((get(&stats, "cache_miss"), hits(&stats)), (1, 2));
    }
    // Written into objcache's own file, the place stays objcache's.
    run_ok(&mut h.objcache(&["-o", "max_files=100"]));
    let mine = h.home.join(".config/objcache/ccache.conf");
    let shown = h.shown("cache_dir");
    assert_eq!(
        shown,
        format!("({}) cache_dir = {}", mine.display(), own.display())
    );
}
