//! `reshare`: a local direct hit sends its result and its manifest to the
//! remotes, so another machine gets a direct hit from them, not only a
//! preprocessed one.

use crate::common::servers::Nginx;
use crate::common::*;
use std::path::Path;

/// `objcache gcc -c src/util.c` in `proj` with `vars`, checked against
/// the plain compiler's object.
fn compile(env: &TestEnv, proj: &Path, vars: &[(&str, &str)], expected: &[u8]) {
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    Compile::new(proj, "gcc", &a, "util.o")
        .envs(vars)
        .check_obj(env, expected);
}

/// Warms a machine's local cache without a remote, then reshares its
/// direct hit to `remote`; a second machine with only the remote must get
/// a direct hit.
fn reshared_direct_hit_reaches_another_machine(
    remote: &str,
    entries_in_remote: &dyn Fn() -> usize,
) {
    let (_penv, proj) = proj_fixture();
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    let expected = plain_object("gcc", &proj, &a, "util.o");

    let first = TestEnv::new();
    compile(&first, &proj, &[], &expected);
    compile(&first, &proj, &[], &expected);
    assert_eq!(first.stat("direct_cache_hit"), 1);
    let reshare = [("CCACHE_REMOTE_STORAGE", remote), ("CCACHE_RESHARE", "1")];
    compile(&first, &proj, &reshare, &expected);
    let s = first.stats();
    assert_eq!(get(&s, "direct_cache_hit"), 2, "{s:?}");
    assert_eq!(
        get(&s, "remote_storage_write"),
        2,
        "result and manifest: {s:?}"
    );
    assert_eq!(entries_in_remote(), 2, "result and manifest in the remote");

    let second = TestEnv::new();
    compile(
        &second,
        &proj,
        &[("CCACHE_REMOTE_STORAGE", remote)],
        &expected,
    );
    let s = second.stats();
    assert_eq!(get(&s, "cache_miss"), 0, "{s:?}");
    assert_eq!(get(&s, "direct_cache_hit"), 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_hit"), 1, "{s:?}");
}

#[test]
fn reshare_sends_the_manifest_to_a_file_remote() {
    let remote_env = TestEnv::new();
    let remote = remote_env.dir("remote");
    let url = format!("file:{}", remote.display());
    let entries = || {
        walk_files(&remote)
            .iter()
            .filter(|p| !p.ends_with("CACHEDIR.TAG"))
            .count()
    };
    reshared_direct_hit_reaches_another_machine(&url, &entries);
}

#[test]
fn reshare_sends_the_manifest_to_an_http_remote() {
    let nginx = Nginx::start();
    let url = nginx.url("/cache");
    let www = nginx.www.clone();
    let entries = || walk_files(&www).len();
    reshared_direct_hit_reaches_another_machine(&url, &entries);
}

/// A result whose object is a raw file beside it (`hard_link`) is not
/// self-contained: it is not reshared (another machine would find no
/// object in it), its manifest is, as in ccache.
#[test]
fn a_result_with_a_raw_object_is_not_reshared() {
    let (_penv, proj) = proj_fixture();
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    let expected = plain_object("gcc", &proj, &a, "util.o");
    let remote_env = TestEnv::new();
    let remote = remote_env.dir("remote");
    let url = format!("file:{}", remote.display());

    let env = TestEnv::new();
    compile(&env, &proj, &[("CCACHE_HARDLINK", "1")], &expected);
    let reshare = [
        ("CCACHE_HARDLINK", "1"),
        ("CCACHE_REMOTE_STORAGE", url.as_str()),
        ("CCACHE_RESHARE", "1"),
    ];
    compile(&env, &proj, &reshare, &expected);
    let s = env.stats();
    assert_eq!(get(&s, "direct_cache_hit"), 1, "{s:?}");
    assert_eq!(
        get(&s, "remote_storage_write"),
        1,
        "the manifest only: {s:?}"
    );
    let sent: Vec<String> = walk_files(&remote)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "CACHEDIR.TAG")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].ends_with('M'), "{sent:?}");
}
