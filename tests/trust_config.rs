//! Who may make the settings that run programs, write files outside the
//! cache or send data elsewhere: a ccache.conf planted in a cache dir by
//! another user (anyone who can write the directory can) must not run a
//! program as each user of the cache; a team's group-shared configuration
//! keeps working whichever member last rewrote it. Needs root (setpriv).

use crate::common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user whose compiles must not be hijacked, a member of the team.
pub(crate) const VICTIM: u32 = 4242;
/// The team's group, and another member of it.
pub(crate) const TEAM: u32 = 4343;
pub(crate) const MEMBER: u32 = 4244;
/// Someone outside the team: `nobody`.
pub(crate) const OUTSIDER: u32 = 65534;

/// `objcache ARGS` as `uid`, with `uid` as its own primary group and
/// `groups` as its supplementary ones.
pub(crate) fn as_user(
    uid: u32,
    groups: &[u32],
    env: &TestEnv,
    cwd: &Path,
    args: &[&str],
) -> Command {
    let mut cmd = Command::new("setpriv");
    clean_env(&mut cmd);
    cmd.args([format!("--reuid={uid}"), format!("--regid={uid}")]);
    if groups.is_empty() {
        cmd.arg("--clear-groups");
    } else {
        let list: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        cmd.arg(format!("--groups={}", list.join(",")));
    }
    cmd.arg("--")
        .arg(objcache_bin())
        .args(args)
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .current_dir(cwd);
    cmd
}

/// A group-shared cache dir (setgid, the team's group, `umask = 002`),
/// sources everyone can write, and `marks/`, where the programs a
/// configuration names leave a file when they run.
pub(crate) struct Shared {
    pub(crate) env: TestEnv,
    pub(crate) src: PathBuf,
    pub(crate) marks: PathBuf,
    pub(crate) bin: PathBuf,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        require("setpriv");
        require("gcc");
        assert!(
            is_root(),
            "this test needs root, to run other users with setpriv"
        );
        let (env, src) = group_shared_env(TEAM);
        let marks = env.dir("marks");
        fs::set_permissions(&marks, fs::Permissions::from_mode(0o777)).unwrap();
        let bin = env.dir("bin");
        // `check` is given a word of its own first: a new one each time
        // makes a new command, which runs again (a command's output is
        // remembered per compiler).
        for (name, shift) in [("prefix", ""), ("check", "shift\n")] {
            let script = format!(
                "#!/bin/sh\ntouch {}/{name}-$(id -u)\n{shift}exec \"$@\"\n",
                marks.display()
            );
            let path = bin.join(name);
            fs::write(&path, script).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        Shared {
            env,
            src,
            marks,
            bin,
        }
    }

    pub(crate) fn conf(&self) -> PathBuf {
        self.env.cache_dir.join("ccache.conf")
    }

    /// Writes ccache.conf with settings that run the mark programs, write
    /// a log into `marks/` and store entries there, owned by `uid:gid`.
    fn plant(&self, uid: u32, gid: u32) {
        self.plant_at(&self.conf(), uid, gid);
    }

    /// `plant` at `path`.
    pub(crate) fn plant_at(&self, path: &Path, uid: u32, gid: u32) {
        let (bin, marks) = (self.bin.display(), self.marks.display());
        let tag = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let text = format!(
            "umask = 002\nprefix_command = {bin}/prefix\n\
             compiler_check = {bin}/check {tag} %compiler% --version\n\
             log_file = {marks}/planted.log\nremote_storage = file:{marks}/remote\n"
        );
        fs::write(path, text).unwrap();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o664)).unwrap();
    }

    /// What the mark programs and the planted settings left.
    pub(crate) fn marks(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.marks)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with("own.log"))
            .collect();
        names.sort();
        names
    }

    pub(crate) fn clear_marks(&self) {
        for name in self.marks() {
            let _ = fs::remove_dir_all(self.marks.join(&name));
            let _ = fs::remove_file(self.marks.join(&name));
        }
    }

    /// A new source (so the compile is a miss and runs the compiler) and
    /// `uid`'s compile of it (root's without setpriv), which must succeed
    /// with the object gcc makes.
    pub(crate) fn compile(&self, uid: u32, groups: &[u32], n: &str) -> Out {
        self.compile_with(uid, groups, n, &[])
    }

    /// `compile` with variables set for it.
    pub(crate) fn compile_with(
        &self,
        uid: u32,
        groups: &[u32],
        n: &str,
        vars: &[(&str, &str)],
    ) -> Out {
        let file = format!("{n}.c");
        fs::write(
            self.src.join(&file),
            format!("int {n}(void) {{ return 7; }}\n"),
        )
        .unwrap();
        let object = format!("{n}.o");
        let args = ["gcc", "-c", file.as_str(), "-o", object.as_str()];
        let mut cmd = if uid == 0 {
            self.env.objcache_in(&self.src, args)
        } else {
            as_user(uid, groups, &self.env, &self.src, &args)
        };
        cmd.envs(vars.iter().copied());
        // A source written in the tick the compile starts in is not stored
        // (`env.objcache_in` waits for it, `as_user` does not).
        settle_stamps();
        let out = run(&mut cmd);
        assert!(out.success(), "{}", out.dump());
        let expected = plain_object("gcc", &self.src, ["-c", file.as_str(), "-o", "p.o"], "p.o");
        assert_bytes_eq(&read(&self.src.join(&object)), &expected, "the object");
        out
    }

    /// Where `uid`'s own log goes (`CCACHE_LOGFILE`), and what is in it.
    fn own_log_path(&self, uid: u32) -> String {
        self.marks
            .join(format!("{uid}-own.log"))
            .display()
            .to_string()
    }

    fn own_log(&self, uid: u32) -> String {
        fs::read_to_string(self.own_log_path(uid)).unwrap_or_default()
    }
}

pub(crate) fn warnings(out: &Out) -> Vec<String> {
    out.stderr_str()
        .lines()
        .filter(|l| l.starts_with("objcache: warning:"))
        .map(String::from)
        .collect()
}

/// A ccache.conf that an outsider planted in the cache dir (owned by them,
/// group theirs) runs none of its programs for another user, writes no
/// log and stores nothing where it says; the compile succeeds with the
/// right object, and the user is told once and the log says it. Settings
/// from the user's own environment still apply.
#[test]
fn a_config_planted_by_another_user_runs_no_program() {
    let shared = Shared::new();
    shared.plant(OUTSIDER, OUTSIDER);
    let out = shared.compile(VICTIM, &[TEAM], "a");
    assert_eq!(shared.marks(), Vec::<String>::new(), "{}", out.dump());
    let told = warnings(&out);
    assert_eq!(told.len(), 1, "{}", out.dump());
    for word in [
        "prefix_command",
        "compiler_check",
        "log_file",
        "remote_storage",
    ] {
        assert!(told[0].contains(word), "{}", told[0]);
    }
    assert!(told[0].contains("ccache.conf"), "{}", told[0]);
    // Not root either, whose compile an outsider would most like to run.
    // The log the user asked for says what was ignored.
    let own_log = shared.own_log_path(0);
    let out = shared.compile_with(0, &[], "r", &[("CCACHE_LOGFILE", &own_log)]);
    assert_eq!(shared.marks(), Vec::<String>::new(), "{}", out.dump());
    assert_eq!(warnings(&out).len(), 1, "{}", out.dump());
    let logged = shared.own_log(0);
    assert!(
        logged.contains("ignoring ") && logged.contains("prefix_command"),
        "{logged}"
    );
    // `-p` shows what applies, and says why.
    let p = run(&mut as_user(
        VICTIM,
        &[TEAM],
        &shared.env,
        &shared.src,
        &["-p"],
    ));
    assert!(
        p.stdout_str().contains("(default) prefix_command = \n"),
        "{}",
        p.dump()
    );
    assert_eq!(warnings(&p).len(), 1, "{}", p.dump());
    // The user's own settings are the user's.
    let prefix = format!("{}/prefix", shared.bin.display());
    let out = shared.compile_with(VICTIM, &[TEAM], "e", &[("CCACHE_PREFIX", &prefix)]);
    assert_eq!(
        shared.marks(),
        [format!("prefix-{VICTIM}")],
        "{}",
        out.dump()
    );
}

/// A team's ccache.conf (the group's, in the setgid cache dir) keeps
/// running its programs for every member: created by root, by the user,
/// and after another member rewrote it with `-M` (which makes it theirs),
/// also when the directory is not setgid (`-o` keeps the file's group).
#[test]
fn a_team_config_keeps_working_whoever_rewrote_it() {
    let shared = Shared::new();
    let wanted = |uid: u32| {
        vec![
            format!("check-{uid}"),
            "planted.log".to_string(),
            format!("prefix-{uid}"),
            "remote".to_string(),
        ]
    };
    let cases: [(&str, u32, u32); 2] = [("root", 0, 0), ("the user", VICTIM, VICTIM)];
    for (n, (who, uid, gid)) in cases.into_iter().enumerate() {
        shared.plant(uid, gid);
        shared.clear_marks();
        let out = shared.compile(VICTIM, &[TEAM], &format!("own{n}"));
        assert_eq!(
            shared.marks(),
            wanted(VICTIM),
            "owned by {who}: {}",
            out.dump()
        );
        assert_eq!(warnings(&out), Vec::<String>::new(), "{}", out.dump());
    }
    for (n, setgid) in [(0, 0o2000), (1, 0)] {
        fs::set_permissions(
            &shared.env.cache_dir,
            fs::Permissions::from_mode(0o775 | setgid),
        )
        .unwrap();
        shared.plant(0, TEAM);
        run_ok(&mut as_user(
            MEMBER,
            &[TEAM],
            &shared.env,
            &shared.src,
            &["-M", "3G"],
        ));
        let meta = fs::metadata(shared.conf()).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (MEMBER, TEAM),
            "setgid {setgid:o}"
        );
        shared.clear_marks();
        let out = shared.compile(VICTIM, &[TEAM], &format!("team{n}"));
        assert_eq!(
            shared.marks(),
            wanted(VICTIM),
            "setgid {setgid:o}: {}",
            out.dump()
        );
        assert_eq!(warnings(&out), Vec::<String>::new(), "{}", out.dump());
    }
}

/// A ccache.conf everyone can write may have been written by anyone,
/// whoever owns it; nor is a file of another user trusted for its group
/// when the directory is one everyone can write.
#[test]
fn a_config_everyone_can_write_runs_no_program() {
    let shared = Shared::new();
    shared.plant(VICTIM, VICTIM);
    fs::set_permissions(shared.conf(), fs::Permissions::from_mode(0o666)).unwrap();
    let out = shared.compile(VICTIM, &[TEAM], "w");
    assert_eq!(shared.marks(), Vec::<String>::new(), "{}", out.dump());
    assert_eq!(warnings(&out).len(), 1, "{}", out.dump());
    shared.plant(OUTSIDER, TEAM);
    fs::set_permissions(&shared.env.cache_dir, fs::Permissions::from_mode(0o3777)).unwrap();
    let out = shared.compile(VICTIM, &[TEAM], "d");
    assert_eq!(shared.marks(), Vec::<String>::new(), "{}", out.dump());
    assert!(
        warnings(&out)[0].contains("everyone can write"),
        "{}",
        out.dump()
    );
}
