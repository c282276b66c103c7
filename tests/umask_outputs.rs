//! `umask` is for the files and directories in the cache only: the object,
//! the `.d` and a link's program get the permissions the user's own umask
//! gives them, on a miss, on a hit and when the compiler runs uncached.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `objcache gcc ARGS` in `dir`, run with the user's umask `user` and the
/// cache's `umask = 002`.
fn call(env: &TestEnv, dir: &Path, args: &[&str], user: u32) -> Out {
    let mut cmd = env.objcache_in(dir, ["gcc"]);
    cmd.args(args).env("CCACHE_UMASK", "002");
    // SAFETY: umask is async-signal-safe and changes only the child.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(user as libc::mode_t);
            Ok(())
        });
    }
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    out
}

#[test]
fn outputs_get_the_users_umask_and_the_cache_its_own() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(&dir.join("t.c"), "int main(void) { return 0; }\n");
    let (obj, dep) = (dir.join("t.o"), dir.join("t.d"));
    let compile = ["-MMD", "-c", "t.c"];

    // A miss: the compiler writes the outputs.
    call(&env, &dir, &compile, 0o022);
    assert_eq!(env.misses(), 1);
    assert_eq!((mode(&obj), mode(&dep)), (0o644, 0o644), "after a miss");
    let entries = cache_entry_files(&env.cache_dir);
    assert!(!entries.is_empty());
    for entry in &entries {
        assert_eq!(mode(entry), 0o664, "{}", entry.display());
    }
    assert_eq!(mode(&env.cache_dir), 0o775);

    // A hit: objcache writes them, as the compiler would have.
    for user in [0o022, 0o077] {
        rm(&obj);
        rm(&dep);
        call(&env, &dir, &compile, user);
        let want = 0o666 & !user;
        assert_eq!(
            (mode(&obj), mode(&dep)),
            (want, want),
            "hit, umask {user:o}"
        );
    }
    assert_eq!(env.hits(), 2);

    // A link runs the compiler uncached.
    call(&env, &dir, &["t.o", "-o", "prog"], 0o022);
    assert_eq!(env.stat("called_for_link"), 1);
    assert_eq!(mode(&dir.join("prog")), 0o755);
}
