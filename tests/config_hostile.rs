//! A configuration file a hostile neighbour controls without owning it: a
//! symlink they planted to a root-owned file whose text they chose, a
//! directory on its path they can write, a FIFO or `/dev/zero` in its
//! place, a link that root's `-M` would write through, `reshare`, which
//! would send their forged entries to the user's own remote,
//! `$VARIABLES`, which would read the user's environment into the cache,
//! and `extra_files_to_hash` naming a FIFO. Needs root (setpriv), as
//! trust_config.rs.

use crate::common::*;
use crate::trust_config::{warnings, Shared, OUTSIDER, TEAM, VICTIM};
use std::fs;
use std::os::unix::fs::{chown, lchown, symlink, PermissionsExt};
use std::path::Path;
use std::time::Duration;

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A symlink at `link` to `target`, made by `uid`.
fn link_as(uid: u32, target: &Path, link: &Path) {
    let _ = fs::remove_file(link);
    symlink(target, link).unwrap();
    lchown(link, Some(uid), Some(uid)).unwrap();
}

/// The outsider cannot write a root-owned file, but may choose its text:
/// `/proc/PID/cmdline` of a setuid-root program they started (`passwd`
/// waiting for a password, its `argv[0]` lines of their choosing) belongs
/// to root and is readable by everyone. Their symlink to such a file in a
/// cache dir they can write ran its `prefix_command` as every user of the
/// cache, root included: the owner checked was the target's. So was a
/// file in a cache dir whose parent everyone can write (anyone could put
/// a cache dir of their own in its place), or a hard link to a root file
/// in a sticky directory everyone can write. The user's own link to their
/// own file elsewhere (dotfiles) keeps working.
#[test]
fn a_planted_link_to_a_root_file_runs_no_program() {
    let shared = Shared::new();
    let root_dir = shared.env.dir("root-owned");
    chmod(&root_dir, 0o755);
    let cmdline = root_dir.join("cmdline");
    shared.plant_at(&cmdline, 0, 0);
    chmod(&cmdline, 0o444);
    let cache = &shared.env.cache_dir;
    // The cache dir was made by the outsider first (`/tmp/ccache`), or
    // belongs to root and everyone may write it (sticky, as /tmp).
    for (n, (owner, mode)) in [(OUTSIDER, 0o777), (OUTSIDER, 0o1777), (0, 0o1777)]
        .into_iter()
        .enumerate()
    {
        chown(cache, Some(owner), Some(owner)).unwrap();
        chmod(cache, mode);
        link_as(OUTSIDER, &cmdline, &shared.conf());
        for uid in [VICTIM, 0] {
            let out = shared.compile(uid, &[TEAM], &format!("l{n}u{uid}"));
            let what = format!("dir {owner}, {mode:o}, user {uid}");
            assert_eq!(
                shared.marks(),
                Vec::<String>::new(),
                "{what}: {}",
                out.dump()
            );
            let told = warnings(&out);
            assert_eq!(told.len(), 1, "{what}: {}", out.dump());
            assert!(told[0].contains("prefix_command"), "{what}: {}", told[0]);
        }
    }
    // A hard link to it, in the sticky dir everyone can write: where
    // `protected_hardlinks` is off, anyone may link any file there.
    fs::remove_file(shared.conf()).unwrap();
    fs::hard_link(&cmdline, shared.conf()).unwrap();
    let out = shared.compile(VICTIM, &[TEAM], "hardlink");
    assert_eq!(shared.marks(), Vec::<String>::new(), "{}", out.dump());
    assert!(warnings(&out)[0].contains("hard links"), "{}", out.dump());
    // A root-owned file in the team's dir, whose parent everyone can write
    // without the sticky bit.
    fs::remove_file(shared.conf()).unwrap();
    chown(cache, Some(0), Some(TEAM)).unwrap();
    chmod(cache, 0o2775);
    shared.plant_at(&shared.conf(), 0, 0);
    chmod(shared.env.root(), 0o777);
    let out = shared.compile(VICTIM, &[TEAM], "parent");
    chmod(shared.env.root(), 0o1777);
    assert_eq!(shared.marks(), Vec::<String>::new(), "{}", out.dump());
    assert!(
        warnings(&out)[0].contains("everyone can write"),
        "{}",
        out.dump()
    );
    // Sticky again: the same file is the team's, and trusted.
    let out = shared.compile(VICTIM, &[TEAM], "sticky");
    assert_eq!(warnings(&out), Vec::<String>::new(), "{}", out.dump());
    assert!(shared.marks().contains(&format!("prefix-{VICTIM}")));
    shared.clear_marks();
    // The user's own link, in their own directory, to their own file.
    let home = shared.env.dir("home");
    let dotfiles = shared.env.dir("home/dotfiles");
    for dir in [&home, &dotfiles] {
        chown(dir, Some(VICTIM), Some(VICTIM)).unwrap();
        chmod(dir, 0o755);
    }
    shared.plant_at(&dotfiles.join("ccache.conf"), VICTIM, VICTIM);
    chmod(&dotfiles.join("ccache.conf"), 0o644);
    let own = home.join("ccache.conf");
    link_as(VICTIM, Path::new("dotfiles/ccache.conf"), &own);
    let own = own.display().to_string();
    let out = shared.compile_with(VICTIM, &[], "own", &[("CCACHE_CONFIGPATH", &own)]);
    assert_eq!(warnings(&out), Vec::<String>::new(), "{}", out.dump());
    assert!(shared.marks().contains(&format!("prefix-{VICTIM}")));
}

/// A FIFO planted as ccache.conf hung every compile and manager command
/// (the open waits for a writer); a link to `/dev/zero` or a sparse file
/// of 8 GiB took memory and time without end. Now a configuration file is
/// opened without blocking and read up to 1 MiB: the compile goes on with
/// the right object, `-p` answers, `-M` replaces the FIFO and names the
/// file it cannot read.
#[test]
fn a_planted_fifo_or_endless_config_never_hangs() {
    require("gcc");
    let env = TestEnv::new();
    let src = env.dir("src");
    fs::create_dir_all(&env.cache_dir).unwrap();
    let conf = env.cache_dir.join("ccache.conf");
    let limit = Duration::from_secs(20);
    let kinds = ["fifo", "/dev/zero", "sparse"];
    for (n, kind) in kinds.into_iter().enumerate() {
        let _ = fs::remove_file(&conf);
        match kind {
            "fifo" => {
                run_ok(std::process::Command::new("mkfifo").arg(&conf));
            }
            "sparse" => fs::File::create(&conf).unwrap().set_len(8 << 30).unwrap(),
            _ => symlink(kind, &conf).unwrap(),
        }
        let file = format!("f{n}.c");
        fs::write(
            src.join(&file),
            format!("int f{n}(void) {{ return {n}; }}\n"),
        )
        .unwrap();
        let args = ["gcc", "-c", file.as_str(), "-o", "f.o"];
        let out = run_with_timeout(&mut env.objcache_in(&src, args), limit);
        assert!(out.success(), "{kind}: {}", out.dump());
        let expected = plain_object("gcc", &src, ["-c", file.as_str(), "-o", "p.o"], "p.o");
        assert_bytes_eq(&read(&src.join("f.o")), &expected, kind);
        run_with_timeout(env.objcache().arg("-p"), limit);
        let out = run_with_timeout(env.objcache().args(["-M", "3G"]), limit);
        // A configuration that cannot be read is named, not changed.
        assert!(!out.success(), "{kind}: {}", out.dump());
        assert!(
            out.stderr_str().contains(&conf.display().to_string()),
            "{kind}: {}",
            out.dump()
        );
    }
}

/// Root's `-M` (or `-o`, `-F`) in a cache dir another user can write
/// followed their symlink `ccache.conf` and rewrote the file it named,
/// keeping its owner: any file of root's with `key=value` lines (one in
/// /etc/default, say) got a `max_size` line. Now only a link of the user
/// or root is followed; another's is replaced by the new file.
#[test]
fn set_config_writes_through_no_link_of_another_user() {
    require("setpriv");
    assert!(
        is_root(),
        "this test needs root, to plant another user's link"
    );
    let env = TestEnv::new();
    let etc = env.dir("etc");
    let precious = etc.join("default.conf");
    let text = "# root's own settings\nTIMEOUT=5\n";
    fs::write(&precious, text).unwrap();
    chmod(&precious, 0o600);
    fs::create_dir_all(&env.cache_dir).unwrap();
    chown(&env.cache_dir, Some(OUTSIDER), Some(OUTSIDER)).unwrap();
    chmod(&env.cache_dir, 0o777);
    let conf = env.cache_dir.join("ccache.conf");
    link_as(OUTSIDER, &precious, &conf);
    let out = run(env.objcache().args(["-M", "5G"]));
    assert!(out.success(), "{}", out.dump());
    assert_eq!(fs::read_to_string(&precious).unwrap(), text);
    let meta = fs::symlink_metadata(&conf).unwrap();
    assert!(meta.is_file(), "{meta:?}");
    assert!(fs::read_to_string(&conf).unwrap().contains("max_size = 5G"));
    // Root's own link is followed: the file it names gets the setting.
    link_as(0, &precious, &conf);
    run_ok(env.objcache().args(["-M", "6G"]));
    assert!(fs::symlink_metadata(&conf)
        .unwrap()
        .file_type()
        .is_symlink());
    let now = fs::read_to_string(&precious).unwrap();
    assert!(
        now.starts_with(text) && now.contains("max_size = 6G"),
        "{now}"
    );
}

/// `reshare = true` in a ccache.conf an outsider planted sent the local
/// hits of the user, whose entries the outsider can forge, to the user's
/// own remote storage, which the outsider cannot write: a forged object
/// for everyone who uses that remote. `reshare` decides what goes to a
/// remote, so only a trusted file may set it.
#[test]
fn a_planted_reshare_sends_nothing_to_the_users_remote() {
    let shared = Shared::new();
    fs::write(shared.conf(), "umask = 002\nreshare = true\n").unwrap();
    chown(shared.conf(), Some(OUTSIDER), Some(OUTSIDER)).unwrap();
    let remote = shared.env.dir("remote");
    let remote_url = format!("file:{}", remote.display());
    let vars = [("CCACHE_REMOTE_STORAGE", remote_url.as_str())];
    let compile = || {
        let args = ["gcc", "-c", "r.c", "-o", "r.o"];
        run_ok(shared.env.objcache_in(&shared.src, args).envs(vars))
    };
    fs::write(shared.src.join("r.c"), "int r(void) { return 3; }\n").unwrap();
    compile();
    assert!(!walk_files(&remote).is_empty(), "a miss stores remotely");
    fs::remove_dir_all(&remote).unwrap();
    fs::create_dir_all(&remote).unwrap();
    let out = compile();
    assert_eq!(shared.env.hits(), 1, "{}", out.dump());
    assert_eq!(walk_files(&remote), Vec::<std::path::PathBuf>::new());
    let told = warnings(&out);
    assert!(
        told.len() == 1 && told[0].contains("reshare"),
        "{}",
        out.dump()
    );
}

/// A ccache.conf an outsider planted read the user's environment into its
/// settings: `namespace = ${GITHUB_TOKEN}` put every user's token into the
/// header of each entry they stored, which the outsider could read. Now a
/// value with a variable in it is taken only from a trusted file, as the
/// unsafe settings are; the team's own file still expands them.
#[test]
fn a_planted_config_reads_no_variable() {
    let shared = Shared::new();
    let token = "ghp_T0ken-of-the-user";
    let vars = [("GITHUB_TOKEN", token)];
    let text = "umask = 002\nnamespace = ${GITHUB_TOKEN}\n";
    fs::write(shared.conf(), text).unwrap();
    chown(shared.conf(), Some(OUTSIDER), Some(OUTSIDER)).unwrap();
    let holding = |what: &str| -> Vec<std::path::PathBuf> {
        walk_files(&shared.env.cache_dir)
            .into_iter()
            .filter(|f| String::from_utf8_lossy(&read(f)).contains(what))
            .collect()
    };
    let out = shared.compile_with(VICTIM, &[TEAM], "ns", &vars);
    assert_eq!(holding(token), Vec::<std::path::PathBuf>::new());
    let told = warnings(&out);
    assert!(
        told.len() == 1 && told[0].contains("namespace"),
        "{}",
        out.dump()
    );
    // The team's file: a member's, with the team's group.
    chown(shared.conf(), Some(0), Some(TEAM)).unwrap();
    let out = shared.compile_with(VICTIM, &[TEAM], "team", &vars);
    assert_eq!(warnings(&out), Vec::<String>::new(), "{}", out.dump());
    assert!(!holding(token).is_empty(), "{}", out.dump());
}

/// `extra_files_to_hash` naming a FIFO or `/dev/zero` (a setting any
/// ccache.conf may make, a planted one too) hung every compile: the
/// content was read to its end. Now only a regular file of at most 4 GiB
/// is hashed; anything else counts `error_hashing_extra_file` and the
/// compiler runs, uncached, with the right object.
#[test]
fn extra_files_to_hash_never_hang() {
    require("gcc");
    let env = TestEnv::new();
    let src = env.dir("src");
    fs::create_dir_all(&env.cache_dir).unwrap();
    let fifo = env.root().join("fifo");
    run_ok(std::process::Command::new("mkfifo").arg(&fifo));
    let sparse = env.root().join("sparse");
    fs::File::create(&sparse).unwrap().set_len(5 << 30).unwrap();
    let named = [fifo.as_path(), Path::new("/dev/zero"), sparse.as_path()];
    for (n, file) in named.into_iter().enumerate() {
        let text = format!("extra_files_to_hash = {}\n", file.display());
        fs::write(env.cache_dir.join("ccache.conf"), text).unwrap();
        let c = format!("x{n}.c");
        fs::write(src.join(&c), format!("int x{n}(void) {{ return {n}; }}\n")).unwrap();
        let args = ["gcc", "-c", c.as_str(), "-o", "x.o"];
        let out = run_with_timeout(&mut env.objcache_in(&src, args), Duration::from_secs(20));
        assert!(out.success(), "{}: {}", file.display(), out.dump());
        let expected = plain_object("gcc", &src, ["-c", c.as_str(), "-o", "p.o"], "p.o");
        assert_bytes_eq(&read(&src.join("x.o")), &expected, "the object");
        assert_eq!(env.stat("error_hashing_extra_file"), n as u64 + 1);
    }
}
