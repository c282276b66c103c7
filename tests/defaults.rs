//! Defaults where the environment says little: the cache and config
//! directories without `HOME` (the passwd entry's home, as ccache takes
//! it, or a refusal that still compiles), XDG variables that are empty or
//! relative; and a size limit too small for one entry, which keeps nothing
//! instead of meaning no limit.

use crate::common::*;
use std::ffi::CStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// objcache with no `HOME`, no `CCACHE_DIR` and no XDG variables: only the
/// defaults decide. `-s` and `-k` read; nothing is written.
fn homeless(env: &TestEnv) -> Command {
    let mut cmd = env.objcache();
    for var in ["HOME", "CCACHE_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"] {
        cmd.env_remove(var);
    }
    cmd
}

/// The cache directory and primary configuration file by default for the
/// home directory `home` (this user's, whose files other runs may have
/// made): objcache's former places while they exist, else ccache's.
fn default_places(
    home: &Path,
    xdg_cache: Option<&Path>,
    xdg_config: Option<&Path>,
) -> (String, String) {
    let cache_home = xdg_cache.map_or_else(|| home.join(".cache"), Path::to_path_buf);
    let config_home = xdg_config.map_or_else(|| home.join(".config"), Path::to_path_buf);
    let legacy = home.join(".ccache");
    let cache = if cache_home.join("objcache").is_dir() {
        cache_home.join("objcache")
    } else if legacy.is_dir() {
        legacy.clone()
    } else {
        cache_home.join("ccache")
    };
    let config = if config_home.join("objcache/ccache.conf").exists() {
        config_home.join("objcache/ccache.conf")
    } else if legacy.is_dir() {
        legacy.join("ccache.conf")
    } else {
        config_home.join("ccache/ccache.conf")
    };
    (cache.display().to_string(), config.display().to_string())
}

/// The home directory of this process's user in the passwd database.
fn passwd_home(uid: u32) -> Option<PathBuf> {
    // SAFETY: getpwuid's static result is read at once, in this test only.
    unsafe {
        let entry = libc::getpwuid(uid);
        (!entry.is_null()).then(|| {
            let dir = CStr::from_ptr((*entry).pw_dir);
            PathBuf::from(dir.to_str().unwrap())
        })
    }
}

fn line_of(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in\n{text}"))
        .trim()
        .to_string()
}

/// Without `HOME` (or with an empty one) the cache and the config are in
/// the passwd entry's home, as ccache puts them, never under `/`. An XDG
/// variable counts only when it is an absolute path.
#[test]
fn without_home_the_passwd_home_is_used() {
    let env = TestEnv::new();
    // SAFETY: getuid cannot fail.
    let home = passwd_home(unsafe { libc::getuid() }).expect("this user has a passwd entry");
    let show = |cmd: &mut Command| {
        let out = run_ok(cmd.arg("-s")).stdout_str();
        (
            line_of(&out, "Cache directory:"),
            line_of(&out, "Config file:"),
        )
    };
    let expected = default_places(&home, None, None);
    assert_eq!(show(&mut homeless(&env)), expected, "HOME unset");
    assert_eq!(show(homeless(&env).env("HOME", "")), expected, "HOME empty");
    let relative = show(
        homeless(&env)
            .env("XDG_CACHE_HOME", "relative")
            .env("XDG_CONFIG_HOME", ""),
    );
    assert_eq!(relative, expected, "XDG variables empty or relative");
    let xdg = env.root().join("xdg");
    let absolute = show(
        homeless(&env)
            .env("XDG_CACHE_HOME", xdg.join("cache"))
            .env("XDG_CONFIG_HOME", xdg.join("config")),
    );
    let cache = xdg.join("cache");
    let config = xdg.join("config");
    assert_eq!(absolute, default_places(&home, Some(&cache), Some(&config)));
    assert!(!xdg.exists(), "showing the stats creates nothing");
}

/// A uid without a passwd entry, for `setpriv`.
fn uid_without_passwd_entry() -> u32 {
    (42_000..43_000)
        .find(|&uid| passwd_home(uid).is_none())
        .expect("a free uid")
}

/// With no `HOME` and no passwd entry there is no default cache dir: the
/// cache manager refuses with a message naming `CCACHE_DIR`, a compile
/// runs uncached with a warning and gives the right object, and nothing is
/// created where the cache would have gone (`/.cache`) or in the working
/// directory. With `CCACHE_DIR` the same user caches as usual.
#[test]
fn without_any_home_the_cache_is_refused_and_the_build_goes_on() {
    if !is_root() || !have("setpriv") {
        eprintln!("skipped: needs root and setpriv to run as a user without a passwd entry");
        return;
    }
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    use std::os::unix::fs::PermissionsExt;
    for p in [env.root(), dir.as_path()] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o777)).unwrap();
    }
    fs::write(dir.join("t.c"), "int t(void) { return 7; }\n").unwrap();
    let expected = plain_object("gcc", &dir, ["-c", "t.c", "-o", "expected.o"], "expected.o");
    let uid = uid_without_passwd_entry().to_string();
    let as_user = |args: &[&str]| {
        let mut cmd = homeless(&env);
        let program = cmd.get_program().to_owned();
        let mut wrapped = Command::new("setpriv");
        wrapped
            .args(["--reuid", &uid, "--regid", &uid, "--clear-groups"])
            .arg(program)
            .args(args)
            .current_dir(&dir);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        cmd = wrapped;
        run(&mut cmd)
    };
    let before: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let refused = as_user(&["-s"]);
    assert_eq!(refused.code(), Some(1), "{}", refused.dump());
    assert!(
        refused.stderr_str().contains("CCACHE_DIR"),
        "{}",
        refused.dump()
    );
    let compiled = as_user(&["gcc", "-c", "t.c", "-o", "t.o"]);
    assert!(compiled.success(), "{}", compiled.dump());
    assert!(compiled
        .stderr_str()
        .contains("compiling without the cache"));
    assert_bytes_eq(&read(&dir.join("t.o")), &expected, "object");
    let mut after: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    after.retain(|p| !p.ends_with("t.o"));
    assert_eq!(after.len(), before.len(), "created: {after:?}");
    for made in ["/.cache/ccache", "/.cache/objcache", "/.config/ccache"] {
        assert!(!Path::new(made).exists(), "{made}");
    }
}

fn count_entries(env: &TestEnv) -> usize {
    cache_entry_files(&env.cache_dir).len()
}

/// `-M 1k` (and `max_size = 1k` in ccache.conf, and `CCACHE_MAXSIZE=1k`)
/// is a limit smaller than any entry: the cache keeps nothing, `-c` removes
/// what is there, and the limit shows as 1 KiB, not as none.
#[test]
fn a_size_limit_below_one_entry_keeps_nothing() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    for i in 0..3 {
        fs::write(
            dir.join(format!("t{i}.c")),
            format!("int t{i}(void) {{ return {i}; }}\n"),
        )
        .unwrap();
    }
    let compile = |i: usize, vars: &[(&str, &str)]| {
        let src = format!("t{i}.c");
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", src.as_str()]);
        cmd.envs(vars.iter().copied());
        run_ok(&mut cmd);
    };
    compile(0, &[]);
    assert!(count_entries(&env) > 0);
    let set = run_ok(env.objcache().args(["-M", "1k"]));
    assert!(set.stdout_str().contains("1.0 kB"), "{}", set.dump());
    let stats = env.stats();
    assert_eq!(get(&stats, "max_cache_size_kibibyte"), 1, "{stats:?}");
    let usage = run_ok(env.objcache().arg("--show-usage")).stdout_str();
    assert!(!usage.contains("limit none"), "{usage}");
    run_ok(env.objcache().arg("-c"));
    assert_eq!(count_entries(&env), 0, "-c under a 1 kB limit");
    compile(1, &[]);
    assert_eq!(count_entries(&env), 0, "a store under a 1 kB limit");
    // The same limit from the config file and from the variable.
    fs::write(env.cache_dir.join("ccache.conf"), "max_size = 5G\n").unwrap();
    compile(2, &[]);
    assert!(count_entries(&env) > 0);
    // A store cleans the level-1 directories it stores into: t2's
    // entries elsewhere stay until a store there, or `-c`.
    let before = count_entries(&env);
    compile(0, &[("CCACHE_MAXSIZE", "1k")]);
    assert!(
        count_entries(&env) <= before,
        "CCACHE_MAXSIZE=1k keeps none of t0's"
    );
    run_ok(env.objcache().arg("-c").env("CCACHE_MAXSIZE", "1k"));
    assert_eq!(count_entries(&env), 0, "-c with CCACHE_MAXSIZE=1k");
    compile(1, &[]);
    assert!(count_entries(&env) > 0);
    fs::write(env.cache_dir.join("ccache.conf"), "max_size = 1k\n").unwrap();
    compile(2, &[]);
    run_ok(env.objcache().arg("-c"));
    assert_eq!(count_entries(&env), 0, "max_size = 1k in ccache.conf");
    assert_eq!(get(&env.stats(), "files_in_cache"), 0);
}
