//! The default cache directory and primary configuration file are ccache
//! 4.13's, so objcache installed in place of ccache keeps the user's cache
//! and configuration: `~/.ccache` when that directory exists, else
//! `$XDG_CACHE_HOME/ccache` (`~/.cache/ccache`) and
//! `$XDG_CONFIG_HOME/ccache/ccache.conf` (`~/.config/ccache/ccache.conf`).
//! objcache's former defaults, `~/.cache/objcache` and
//! `~/.config/objcache/ccache.conf`, stay in use while they exist, each on
//! its own.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

/// A home directory and a source directory, with no `CCACHE_*` variable,
/// no XDG variable and no system configuration file.
struct Home {
    env: TestEnv,
    home: PathBuf,
    src: PathBuf,
}

impl Home {
    fn new() -> Home {
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

    fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        write_file(&path, text);
        path
    }

    fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(&path).unwrap();
        path
    }

    /// The cache directory (`-k cache_dir`) and the primary configuration
    /// file (`Config file:` of `-sv`, as ccache's suite `upgrade` reads
    /// it) of `cmd`'s environment.
    fn places(&self, setup: impl Fn(&mut Command)) -> (PathBuf, PathBuf) {
        let mut k = self.objcache(&["-k", "cache_dir"]);
        setup(&mut k);
        let cache_dir = run_ok(&mut k).stdout_str().trim_end().to_string();
        let mut sv = self.objcache(&["-sv"]);
        setup(&mut sv);
        let shown = run_ok(&mut sv).stdout_str();
        let config = shown
            .lines()
            .find_map(|l| l.strip_prefix("Config file:"))
            .unwrap_or_else(|| panic!("no Config file line in\n{shown}"))
            .trim_start()
            .to_string();
        (PathBuf::from(cache_dir), PathBuf::from(config))
    }

    fn default_places(&self) -> (PathBuf, PathBuf) {
        self.places(|_| {})
    }

    /// `-k key`.
    fn get(&self, key: &str) -> String {
        let out = run_ok(&mut self.objcache(&["-k", key])).stdout_str();
        out.trim_end().to_string()
    }

    /// `(origin) key = value` of `-p`, for `key`.
    fn shown(&self, key: &str) -> String {
        let out = run_ok(&mut self.objcache(&["-p"])).stdout_str();
        let line = out.lines().find(|l| l.contains(&format!(") {key} = ")));
        line.unwrap_or_else(|| panic!("-p lacks {key}:\n{out}"))
            .to_string()
    }

    /// A compile of `x.c` that must write the plain compiler's object.
    fn compile(&self) {
        let args = ["-c", "x.c", "-o", "x.o"];
        let expected = plain_object("gcc", &self.src, args, "x.o");
        run_ok(&mut self.objcache(&["gcc", "-c", "x.c", "-o", "x.o"]));
        assert_bytes_eq(&read(&self.src.join("x.o")), &expected, "the object");
    }
}

/// ccache's order: `~/.cache/ccache` and `~/.config/ccache/ccache.conf`;
/// the XDG variables when absolute (an empty or relative one counts as
/// unset); the legacy `~/.ccache` for both when it exists, over the XDG
/// variables. Asking (`-k`, `-s`, `-p`) creates nothing; a compile caches
/// in that directory.
#[test]
fn ccaches_places_are_the_defaults() {
    require("gcc");
    let h = Home::new();
    let plain = (
        h.path(".cache/ccache"),
        h.path(".config/ccache/ccache.conf"),
    );
    assert_eq!(h.default_places(), plain, "no XDG variables");
    let ignored = h.places(|c| {
        c.env("XDG_CACHE_HOME", "relative")
            .env("XDG_CONFIG_HOME", "");
    });
    assert_eq!(ignored, plain, "XDG variables relative or empty");
    let xdg = h.env.dir("xdg");
    let with_xdg = |c: &mut Command| {
        c.env("XDG_CACHE_HOME", xdg.join("cache"))
            .env("XDG_CONFIG_HOME", xdg.join("config"));
    };
    assert_eq!(
        h.places(with_xdg),
        (
            xdg.join("cache/ccache"),
            xdg.join("config/ccache/ccache.conf")
        )
    );
    run_ok(&mut h.objcache(&["-p"]));
    for asked in [&xdg, &h.home] {
        let made = fs::read_dir(asked).unwrap().count();
        assert_eq!(made, 0, "created by asking: {}", asked.display());
    }
    h.compile();
    assert!(h.path(".cache/ccache/objcache-stats").is_dir());

    let legacy = h.mkdir(".ccache");
    let expected = (legacy.clone(), legacy.join("ccache.conf"));
    assert_eq!(h.default_places(), expected);
    assert_eq!(h.places(with_xdg), expected, "legacy over XDG variables");
}

/// ccache's user-level file is simply the primary configuration: `-p`
/// names it, its `cache_dir` is the cache directory as written (no
/// directory of objcache's inside it), `-M`, `-o` write it, keeping its
/// other lines, and it takes the trust rule of every file.
#[test]
fn ccaches_file_is_the_primary_configuration() {
    require("gcc");
    let h = Home::new();
    let shared = h.path("shared-cache");
    let text = format!(
        "max_files = 1234\nsloppiness = time_macros\ncache_dir = {}\n",
        shared.display()
    );
    let theirs = h.write(".config/ccache/ccache.conf", &text);
    let origin = |key: &str, value: &str| format!("({}) {key} = {value}", theirs.display());
    assert_eq!(h.shown("max_files"), origin("max_files", "1234"));
    let dir = shared.display().to_string();
    assert_eq!(h.shown("cache_dir"), origin("cache_dir", &dir));
    assert_eq!(h.default_places(), (shared.clone(), theirs.clone()));
    h.compile();
    assert!(shared.join("objcache-stats").is_dir());
    assert!(!shared.join("objcache").exists(), "a directory of its own");

    run_ok(&mut h.objcache(&["-M", "3G"]));
    run_ok(&mut h.objcache(&["-o", "max_files=99"]));
    let written = fs::read_to_string(&theirs).unwrap();
    assert_eq!(
        written,
        format!("max_files = 99\nsloppiness = time_macros\ncache_dir = {dir}\nmax_size = 3G\n")
    );
    assert_eq!(h.shown("max_size"), origin("max_size", "3.0G"));
    assert!(!h.path(".config/objcache").exists(), "{written}");

    // A file everyone can write sets no program to run, as any other.
    fs::write(&theirs, "prefix_command = /bin/false\nmax_files = 9\n").unwrap();
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o666)).unwrap();
    let out = run_ok(&mut h.objcache(&["-p"]));
    assert!(
        out.stderr_str().contains("ignoring prefix_command"),
        "{}",
        out.dump()
    );
    assert_eq!(h.get("prefix_command"), "");
    assert_eq!(h.get("max_files"), "9");
}

/// objcache's former default configuration file stays the primary one
/// while it exists, over ccache's (the legacy `~/.ccache` too), and `-o`
/// writes it; without it ccache's file is the primary one again.
#[test]
fn objcaches_former_config_file_stays_while_it_exists() {
    let h = Home::new();
    let legacy = h.mkdir(".ccache");
    h.write(".ccache/ccache.conf", "max_files = 1\n");
    h.write(".config/ccache/ccache.conf", "max_files = 2\n");
    let former = h.write(".config/objcache/ccache.conf", "max_files = 77\n");
    assert_eq!(h.default_places(), (legacy.clone(), former.clone()));
    assert_eq!(h.get("max_files"), "77");
    run_ok(&mut h.objcache(&["-o", "max_size=2G"]));
    let written = fs::read_to_string(&former).unwrap();
    assert_eq!(written, "max_files = 77\nmax_size = 2G\n");

    fs::remove_file(&former).unwrap();
    assert_eq!(
        h.default_places(),
        (legacy.clone(), legacy.join("ccache.conf"))
    );
    assert_eq!(h.get("max_files"), "1");

    // Under XDG_CONFIG_HOME, where objcache put it then.
    let xdg = h.env.dir("xdg-config");
    let former = xdg.join("objcache/ccache.conf");
    write_file(&former, "max_files = 78\n");
    let shown = h.places(|c| {
        c.env("XDG_CONFIG_HOME", &xdg);
    });
    assert_eq!(shown, (legacy, former));
}

/// objcache's former default cache directory stays the cache while it
/// exists, over ccache's (the legacy `~/.ccache` too), whatever the
/// configuration file; the two former places are kept each on its own.
#[test]
fn objcaches_former_cache_dir_stays_while_it_exists() {
    require("gcc");
    let h = Home::new();
    let former = h.mkdir(".cache/objcache");
    let ccache_conf = h.path(".config/ccache/ccache.conf");
    assert_eq!(h.default_places(), (former.clone(), ccache_conf));
    h.compile();
    assert!(former.join("objcache-stats").is_dir());
    assert!(!h.path(".cache/ccache").exists());

    let legacy = h.mkdir(".ccache");
    let expected = (former.clone(), legacy.join("ccache.conf"));
    assert_eq!(h.default_places(), expected, "former cache over legacy");

    // A cache_dir set in the configuration still wins.
    let elsewhere = h.path("elsewhere");
    let text = format!("cache_dir = {}\n", elsewhere.display());
    h.write(".ccache/ccache.conf", &text);
    assert_eq!(h.get("cache_dir"), elsewhere.display().to_string());

    // Under XDG_CACHE_HOME, where objcache put it then.
    fs::remove_file(legacy.join("ccache.conf")).unwrap();
    let xdg = h.env.dir("xdg-cache");
    let shown = |h: &Home| {
        h.places(|c| {
            c.env("XDG_CACHE_HOME", &xdg);
        })
        .0
    };
    assert_eq!(shown(&h), legacy, "no objcache/ in XDG_CACHE_HOME");
    fs::create_dir(xdg.join("objcache")).unwrap();
    assert_eq!(shown(&h), xdg.join("objcache"));
    // A file of that name is no cache directory.
    fs::remove_dir(xdg.join("objcache")).unwrap();
    fs::write(xdg.join("objcache"), "").unwrap();
    assert_eq!(shown(&h), legacy);
}

/// A `cache_dir` of the system configuration names the primary file too
/// (`<cache_dir>/ccache.conf`); set empty there, it asks for the default
/// places, never for a `ccache.conf` in the working directory.
#[test]
fn the_system_configs_cache_dir_and_an_empty_one() {
    let h = Home::new();
    let system = h.env.root().join("system.conf");
    let with_system = |c: &mut Command| {
        c.env("OBJCACHE_SYSTEM_CONFIG", &system);
    };
    let shared = h.env.dir("shared");
    write_file(&system, &format!("cache_dir = {}\n", shared.display()));
    let expected = (shared.clone(), shared.join("ccache.conf"));
    assert_eq!(h.places(with_system), expected);

    write_file(&system, "cache_dir =\n");
    fs::write(h.src.join("ccache.conf"), "max_files = 5\n").unwrap();
    let defaults = (
        h.path(".cache/ccache"),
        h.path(".config/ccache/ccache.conf"),
    );
    assert_eq!(h.places(with_system), defaults);
}
