//! ccache 4.13's directory-specific `ccache.conf` against a hostile
//! neighbour and a new user (dir_config.rs tests its rules): values that
//! slip past the unsafe list, a directory a group the user is not in can
//! write, the cache's own file read again under another spelling of its
//! path, a working directory near `PATH_MAX`, a warning that loses its
//! reason, `-o` that a directory's file overrides unseen, and the
//! commands docs/configuration.md shows. Needs root for the second user.

use crate::common::*;
use crate::trust_config::{warnings, Shared, OUTSIDER, TEAM, VICTIM};
use std::fs;
use std::os::unix::fs::{chown, lchown, symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A member of `TEAM` who is not the one compiling.
const MEMBER: u32 = 4244;

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// A checkout `<tmp>/proj` (with `.git/`, a ceiling marker) whose `build/`
/// the compiles run in, and `HOME` at `<tmp>/home`, outside it.
struct Project {
    env: TestEnv,
    proj: PathBuf,
    build: PathBuf,
    home: PathBuf,
}

impl Project {
    fn new() -> Project {
        require("gcc");
        let env = TestEnv::new();
        let proj = env.dir("proj");
        fs::create_dir(proj.join(".git")).unwrap();
        let build = env.dir("proj/build");
        let home = env.dir("home");
        Project {
            env,
            proj,
            build,
            home,
        }
    }

    fn conf(&self) -> PathBuf {
        self.proj.join("ccache.conf")
    }

    fn write_conf(&self, text: &str) {
        fs::write(self.conf(), text).unwrap();
        chmod(&self.conf(), 0o644);
    }

    /// `objcache ARGS` in `dir`.
    fn objcache_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = self.env.objcache_in(dir, args);
        cmd.env("HOME", &self.home);
        cmd
    }

    /// A compile of `x.c` in `dir` (written there), which must exit 0 and
    /// write the plain compiler's object.
    #[track_caller]
    fn compile_in(&self, dir: &Path, vars: &[(&str, &str)]) -> Out {
        let source = dir.join("x.c");
        if !source.exists() {
            fs::write(&source, "int f(void) { return 42; }\n").unwrap();
        }
        let expected = plain_object("gcc", dir, ["-c", "x.c", "-o", "x.o"], "x.o");
        let mut cmd = self.objcache_in(dir, &["gcc", "-c", "x.c", "-o", "x.o"]);
        cmd.envs(vars.iter().copied());
        let out = run_with_timeout(&mut cmd, Duration::from_secs(20));
        assert!(out.success(), "{}", out.dump());
        assert_bytes_eq(&read(&dir.join("x.o")), &expected, "the object");
        out
    }

    /// `(origin) key = value` of `-p` in `dir`.
    #[track_caller]
    fn shown_in(&self, dir: &Path, key: &str) -> String {
        let out = run_ok(&mut self.objcache_in(dir, &["-p"])).stdout_str();
        let line = out.lines().find(|l| l.contains(&format!(") {key} = ")));
        line.unwrap_or_else(|| panic!("-p lacks {key}:\n{out}"))
            .to_string()
    }
}

/// `false` turns a boolean option off, but `is_unsafe` let it through for
/// every key: `prefix_command = false` in a directory's file (no
/// `safe_dirs`) or in a ccache.conf an outsider planted in a shared cache
/// ran the program `false` before each compile, and every build failed;
/// `log_file = false` and `stats_log = false` wrote a file `false` in the
/// working directory.
#[test]
fn false_is_a_value_like_any_other_for_the_unsafe_options() {
    let p = Project::new();
    p.write_conf(
        "prefix_command = false\ncompiler = false\ncompiler_check = false\n\
         log_file = false\nstats_log = false\ndebug_dir = false\npath = false\n",
    );
    let out = p.compile_in(&p.build, &[]);
    let told = warnings(&out);
    assert_eq!(told.len(), 1, "{}", out.dump());
    for key in ["prefix_command", "compiler,", "compiler_check", "log_file"] {
        assert!(told[0].contains(key), "{key}: {}", told[0]);
    }
    assert!(
        !p.build.join("false").exists(),
        "a file named false written"
    );
    p.compile_in(&p.build, &[]);
    assert_eq!((p.env.misses(), p.env.hits()), (1, 1));
    // Turning a boolean option off is still no unsafe setting.
    p.write_conf("hard_link = false\ndebug = false\n");
    assert_eq!(warnings(&p.compile_in(&p.build, &[])), Vec::<String>::new());

    // The same from a shared cache's ccache.conf planted by an outsider.
    require("setpriv");
    let shared = Shared::new();
    let conf = shared.conf();
    fs::write(&conf, "prefix_command = false\nlog_file = false\n").unwrap();
    chown(&conf, Some(OUTSIDER), Some(OUTSIDER)).unwrap();
    let out = shared.compile(VICTIM, &[TEAM], "f");
    assert!(
        warnings(&out)[0].contains("prefix_command"),
        "{}",
        out.dump()
    );
    assert!(!shared.src.join("false").exists());
}

/// In a working directory of 4,088 bytes, `<dir>/ccache.conf` is longer
/// than a path can be (`ENAMETOOLONG`): no file can be named there, so
/// none is read, and the search goes on above. Before, every compile
/// there ran uncached with a "bad configuration" warning (whose reason
/// was cut off after the path) and `-s` failed.
#[test]
fn a_working_directory_near_path_max_is_no_bad_configuration() {
    let p = Project::new();
    p.write_conf("max_files = 555\n");
    let mut deep = p.build.clone();
    while deep.as_os_str().len() + 201 < 4080 {
        deep.push("d".repeat(200));
    }
    let rest = 4088 - deep.as_os_str().len() - 1;
    deep.push("e".repeat(rest));
    assert_eq!(deep.as_os_str().len(), 4088);
    fs::create_dir_all(&deep).unwrap();
    let out = p.compile_in(&deep, &[]);
    assert_eq!(warnings(&out), Vec::<String>::new(), "{}", out.dump());
    p.compile_in(&deep, &[]);
    assert_eq!((p.env.misses(), p.env.hits()), (1, 1));
    let shown = p.shown_in(&deep, "max_files");
    assert_eq!(shown, format!("({}) max_files = 555", p.conf().display()));
}

/// The cache's own ccache.conf is read once, as the cache's, however
/// `CCACHE_DIR` names it (a symlink, `..`), when a call runs in the cache
/// dir. Before, only the very spelling was recognised: under another one
/// the file was read again as a directory's, and a team cache's file,
/// which belongs to whichever member last ran `-o`, made every call there
/// a "bad configuration": `-s` failed, compiles ran uncached.
#[test]
fn the_caches_own_file_is_read_once_however_its_directory_is_named() {
    require("gcc");
    assert!(
        is_root(),
        "this test needs root, to give a file to a member"
    );
    let env = TestEnv::new();
    let cache = &env.cache_dir;
    let work = cache.join("work");
    fs::create_dir_all(&work).unwrap();
    let conf = cache.join("ccache.conf");
    fs::write(&conf, "max_files = 9\n").unwrap();
    chown(&conf, Some(MEMBER), Some(MEMBER)).unwrap();
    let link = env.root().join("link");
    symlink(cache, &link).unwrap();
    for spelling in [link.as_path(), Path::new("..")] {
        let mut s = env.objcache_in(&work, ["-s"]);
        s.env("CCACHE_DIR", spelling);
        let s = run_with_timeout(&mut s, Duration::from_secs(10));
        assert!(s.success(), "{}: {}", spelling.display(), s.dump());
        let mut k = env.objcache_in(&work, ["-k", "max_files"]);
        k.env("CCACHE_DIR", spelling);
        assert_eq!(run_ok(&mut k).stdout_str(), "9\n");
        fs::write(work.join("x.c"), "int f(void) { return 1; }\n").unwrap();
        let mut c = env.objcache_in(&work, ["gcc", "-c", "x.c", "-o", "x.o"]);
        c.env("CCACHE_DIR", spelling);
        let out = run_with_timeout(&mut c, Duration::from_secs(20));
        assert!(out.success(), "{}", out.dump());
        assert_eq!(warnings(&out), Vec::<String>::new(), "{}", out.dump());
    }
    assert_eq!((env.misses(), env.hits()), (1, 1));
}

/// A directory that a group the user is not in can write is no more the
/// user's than one everyone can write: any member may put a file, or a
/// symlink to a root-owned file whose text they chose (`/proc/PID/cmdline`
/// of a setuid program they run, here a root file standing for it), in it.
/// Before, root's builds below a team's directory (root:team, 2775) were
/// made "bad configuration" by a member's file (uncached, `-s` failing),
/// and took the settings of the member's link; a ccache.conf of root's own
/// that the group may write was read too. Root in the team's group
/// searches the directory, as ccache does.
#[test]
fn a_directory_a_group_not_yours_can_write_ends_the_search() {
    require("setpriv");
    require("gcc");
    assert!(is_root(), "this test needs root, for other users' files");
    let p = Project::new();
    chmod(p.env.root(), 0o755);
    let team_dir = p.env.dir("team");
    chown(&team_dir, Some(0), Some(TEAM)).unwrap();
    chmod(&team_dir, 0o2775);
    let build = p.env.dir("team/build");
    let planted = team_dir.join("ccache.conf");
    fs::write(&planted, "max_files = 77\n").unwrap();
    chown(&planted, Some(MEMBER), Some(TEAM)).unwrap();
    let out = p.compile_in(&build, &[]);
    assert_eq!(warnings(&out), Vec::<String>::new(), "{}", out.dump());
    let s = run(&mut p.objcache_in(&build, &["-s"]));
    assert!(s.success(), "{}", s.dump());
    // In the team's group, root searches it, and the member's file is
    // not root's (ccache's rule).
    let mut cmd = p.objcache_in(&build, &["-k", "max_files"]);
    as_member_of(&mut cmd, TEAM);
    let out = run(&mut cmd);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr_str().contains("belongs to user"),
        "{}",
        out.dump()
    );

    // The member's link to a root file of their text.
    let chosen = p.env.dir("root-owned").join("cmdline");
    fs::write(&chosen, "max_files = 77\n").unwrap();
    chmod(&chosen, 0o444);
    fs::remove_file(&planted).unwrap();
    symlink(&chosen, &planted).unwrap();
    lchown(&planted, Some(MEMBER), Some(TEAM)).unwrap();
    assert_eq!(p.shown_in(&build, "max_files"), "(default) max_files = 0");
    p.compile_in(&build, &[]);
    assert_eq!((p.env.misses(), p.env.hits()), (1, 1));

    // Root's own file, which the group may rewrite.
    p.write_conf("max_files = 66\n");
    chown(p.conf(), Some(0), Some(TEAM)).unwrap();
    chmod(&p.conf(), 0o664);
    let out = p.compile_in(&p.build, &[]);
    let told = warnings(&out);
    assert_eq!(told.len(), 1, "{}", out.dump());
    assert!(
        told[0].contains(&format!("group {TEAM} can write it")),
        "{told:?}"
    );
    chmod(&p.conf(), 0o644);
    assert_eq!(warnings(&p.compile_in(&p.build, &[])), Vec::<String>::new());
}

/// A warning about a file at a long path kept its first 300 characters,
/// all of them path: "bad configuration, compiling without the cache:
/// /…/ccache…" without the reason. The end, which says why, is kept now.
#[test]
fn a_warning_about_a_file_at_a_long_path_keeps_its_reason() {
    let p = Project::new();
    let deep = p.build.join(["sub"; 90].join("/"));
    fs::create_dir_all(&deep).unwrap();
    let conf = deep.join("ccache.conf");
    fs::write(&conf, "max_files = 5\n").unwrap();
    chmod(&conf, 0o666);
    let out = p.compile_in(&deep, &[]);
    let told = warnings(&out);
    assert_eq!(told.len(), 1, "{}", out.dump());
    assert!(told[0].contains("everyone can write it"), "{}", told[0]);
    assert!(told[0].len() < 600, "{}", told[0]);
    let s = run(&mut p.objcache_in(&deep, &["-s"]));
    assert_eq!(s.code(), Some(1), "{}", s.dump());
    assert!(
        s.stderr_str().contains("everyone can write it"),
        "{}",
        s.dump()
    );
}

/// `-o` writes the cache's file, as ccache's does; inside a project whose
/// ccache.conf sets the key (or with its `CCACHE_*` variable set), the
/// value written does not apply there. Before, nothing said so: `-o
/// max_files=7` succeeded and `-k max_files` still said 5.
#[test]
fn set_config_says_what_overrides_the_value_here() {
    let p = Project::new();
    p.write_conf("max_files = 5\n");
    let out = run_ok(&mut p.objcache_in(&p.build, &["-o", "max_files=7"]));
    let conf = p.conf().display().to_string();
    let note = out.stderr_str();
    assert!(
        note.contains("max_files") && note.contains(&conf),
        "{}",
        out.dump()
    );
    let cache_conf = fs::read_to_string(p.env.cache_dir.join("ccache.conf")).unwrap();
    assert_eq!(cache_conf, "max_files = 7\n");
    let mut cmd = p.objcache_in(&p.build, &["-o", "namespace=a"]);
    cmd.env("CCACHE_NAMESPACE", "b");
    let out = run_ok(&mut cmd);
    assert!(
        out.stderr_str().contains("CCACHE_NAMESPACE"),
        "{}",
        out.dump()
    );
    let dir = p.env.cache_dir.display().to_string();
    let mut cmd = p.objcache_in(&p.build, &["--dir", &dir, "-o", "cache_dir=/elsewhere"]);
    let out = run_ok(cmd.env_remove("CCACHE_DIR"));
    assert!(
        out.stderr_str().contains("but --dir sets it"),
        "{}",
        out.dump()
    );
    // Where nothing overrides it, nothing is said.
    let out = run_ok(&mut p.objcache_in(&p.build, &["-o", "max_size=3G"]));
    assert_eq!(out.stderr_str(), "", "{}", out.dump());
}

/// The commands and messages docs/configuration.md shows for a
/// directory's ccache.conf, run as written (with `/home/me` a temporary
/// home directory).
#[test]
fn the_documented_directory_config_examples_run_as_written() {
    require("gcc");
    let doc = include_str!("../docs/configuration.md");
    let section = &doc[doc.find("## A directory's ccache.conf").unwrap()..];
    let block = section.split("```text\n").nth(1).unwrap();
    let block = &block[..block.find("```").unwrap()];
    let (command, expected) = block.split_once('\n').unwrap();
    let command = command.strip_prefix("$ ").unwrap();
    let env = TestEnv::new();
    let me = env.dir("home/me");
    let proj = env.dir("home/me/src/proj");
    env.dir("home/me/src/proj/build");
    fs::write(proj.join("ccache.conf"), "max_files = 5\n").unwrap();
    let bin_dir = objcache_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    let run_sh = |script: &str| {
        let mut cmd = Command::new("sh");
        clean_env(&mut cmd);
        cmd.args(["-c", script])
            .env("HOME", &me)
            .env("PATH", &path)
            .env("CCACHE_DIR", &env.cache_dir)
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
        run_with_timeout(&mut cmd, Duration::from_secs(20))
    };
    let here = |text: &str| text.replace("/home/me", &me.display().to_string());
    let out = run_sh(command);
    assert!(out.success(), "{command}: {}", out.dump());
    assert_eq!(out.stdout_str(), here(expected));

    // The warnings it quotes, up to their `…`.
    let quoted = |start: &str| {
        let at = section.find(start).unwrap();
        let text = &section[at..];
        let text = text[..text.find('…').unwrap()].replace('\n', " ");
        here(&text)
    };
    let compile = "cd ~/src/proj/build && echo 'int f;' > x.c && objcache gcc -c x.c";
    fs::write(proj.join("ccache.conf"), "prefix_command = /bin/env\n").unwrap();
    let out = run_sh(compile);
    assert!(out.success(), "{}", out.dump());
    let ignoring = quoted("ignoring prefix_command from");
    assert!(
        out.stderr_str().contains(&ignoring),
        "{ignoring}\n{}",
        out.dump()
    );
    chmod(&proj.join("ccache.conf"), 0o666);
    let out = run_sh(compile);
    assert!(out.success(), "{}", out.dump());
    let bad = quoted("objcache: warning: bad").replace("/path/", &format!("{}/", proj.display()));
    assert!(out.stderr_str().contains(&bad), "{bad}\n{}", out.dump());
}

/// `safe_dirs` names a directory by its path, and the search reads the
/// file by it: whoever can write a directory above (a team's `root:team
/// 2775`, root not in the team) can rename the listed directory away
/// between the search and the read and put one of theirs, with a link to
/// a root file of their text, in its place. Before, a file there made its
/// unsafe settings for root whenever `safe_dirs` listed its directory;
/// now, as for any configuration file, no one outside the user's groups
/// may be able to write a directory on its path. In the team's group,
/// root takes them.
#[test]
fn a_safe_dir_below_a_directory_others_can_write_runs_no_program() {
    require("setpriv");
    require("gcc");
    assert!(is_root(), "this test needs root, for a group's directory");
    let p = Project::new();
    chmod(p.env.root(), 0o755);
    let team_dir = p.env.dir("team");
    chown(&team_dir, Some(0), Some(TEAM)).unwrap();
    chmod(&team_dir, 0o2775);
    let proj = p.env.dir("team/proj");
    chown(&proj, Some(0), Some(0)).unwrap();
    fs::create_dir(proj.join(".git")).unwrap();
    let build = p.env.dir("team/proj/build");
    let marks = p.env.dir("marks");
    let script = p.env.root().join("prefix");
    let text = format!("#!/bin/sh\ntouch {}/ran\nexec \"$@\"\n", marks.display());
    fs::write(&script, text).unwrap();
    chmod(&script, 0o755);
    let conf = proj.join("ccache.conf");
    fs::write(&conf, format!("prefix_command = {}\n", script.display())).unwrap();
    chown(&conf, Some(0), Some(0)).unwrap();
    let safe = proj.display().to_string();
    let vars = [("CCACHE_SAFE_DIRS", safe.as_str()), ("CCACHE_RECACHE", "1")];
    let out = p.compile_in(&build, &vars);
    assert!(
        !marks.join("ran").exists(),
        "the prefix ran: {}",
        out.dump()
    );
    let told = warnings(&out);
    assert_eq!(told.len(), 1, "{}", out.dump());
    assert!(
        told[0].contains(&format!("group {TEAM} can write directory")),
        "{told:?}"
    );
    // A member of the team trusts its members.
    let mut cmd = p.objcache_in(&build, &["gcc", "-c", "x.c", "-o", "x.o"]);
    cmd.envs(vars);
    as_member_of(&mut cmd, TEAM);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(20));
    assert!(out.success(), "{}", out.dump());
    assert!(marks.join("ran").exists(), "{}", out.dump());
    assert_eq!(warnings(&out), Vec::<String>::new());
}

/// The home directory is the default ceiling, and a ceiling is not
/// searched; but the search compares names, with the physical ones
/// `getcwd` gives, so a `HOME` reached through a symlink (`/home` a link
/// to `/var/home`) never matched: `~/ccache.conf` was read for every
/// build below it, as was a file in any `ceiling_dirs` entry named
/// through a link. Now a file found is read only when no ceiling is one of
/// the directories searched under another name.
#[test]
fn a_ceiling_named_through_a_symlink_is_a_ceiling() {
    let p = Project::new();
    let real_home = p.env.dir("var/home/me");
    symlink("var/home", p.env.root().join("linked")).unwrap();
    let home = p.env.root().join("linked/me");
    fs::write(real_home.join("ccache.conf"), "max_files = 3\n").unwrap();
    let build = p.env.dir("var/home/me/src/proj/build");
    let shown = |vars: &[(&str, &str)]| {
        let mut cmd = p.objcache_in(&build, &["-k", "max_files"]);
        cmd.env("HOME", &home).envs(vars.iter().copied());
        run_ok(&mut cmd).stdout_str()
    };
    assert_eq!(shown(&[]), "0\n");
    // Below the ceiling, a project's file is read.
    let proj = real_home.join("src/proj");
    fs::write(proj.join("ccache.conf"), "max_files = 4\n").unwrap();
    assert_eq!(shown(&[]), "4\n");
    let linked_proj = home.join("src/proj");
    let ceiling = linked_proj.to_str().unwrap();
    assert_eq!(shown(&[("CCACHE_CEILING_DIRS", ceiling)]), "0\n");
    // The real home, named as it is, still is one.
    fs::remove_file(proj.join("ccache.conf")).unwrap();
    let mut cmd = p.objcache_in(&build, &["-k", "max_files"]);
    cmd.env("HOME", &real_home);
    assert_eq!(run_ok(&mut cmd).stdout_str(), "0\n");
}
