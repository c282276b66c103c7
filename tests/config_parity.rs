//! ccache 4.13's configuration as its users write it: every key of the
//! manual in one `ccache.conf`, `$VAR` expansion, indented continuation
//! lines, sizes in GiB, boolean variables, remote lines with time units and
//! storage-helper properties, URL errors, and HTTP authentication against a
//! real nginx.

use crate::common::servers::*;
use crate::common::*;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// `gcc -c src/util.c -o out.o -I include` in `proj`.
fn util_c(proj: &Path) -> Compile {
    let a = ["-c", "src/util.c", "-o", "out.o", "-I", "include"];
    Compile::new(proj, "gcc", &a, "out.o")
}

fn write_conf(env: &TestEnv, text: &str) {
    fs::create_dir_all(&env.cache_dir).unwrap();
    fs::write(env.cache_dir.join("ccache.conf"), text).unwrap();
}

/// `objcache -k key` with `vars`: (success, stdout trimmed, stderr).
fn k(env: &TestEnv, key: &str, vars: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = env.objcache();
    cmd.args(["-k", key]).envs(vars.iter().copied());
    let out = run(&mut cmd);
    (
        out.success(),
        out.stdout_str().trim().to_string(),
        out.stderr_str(),
    )
}

#[track_caller]
fn assert_no_warning(out: &Out) {
    assert!(
        !out.stderr_str().contains("objcache:"),
        "objcache complained:\n{}",
        out.dump()
    );
}

/// Every key of ccache 4.13's manual with a valid value (several with
/// `$VAR`s and continuation lines, a remote line with 4.13's time units
/// and helper properties): objcache must not take any of it for bad
/// configuration, and must cache.
#[test]
fn every_ccache_4_13_key_keeps_objcache_caching() {
    let (env, proj) = proj_fixture();
    let shared = env.dir("shared");
    let expected = util_c(&proj).plain().obj;
    write_conf(
        &env,
        "# Written for ccache 4.13.
absolute_paths_in_stderr = false
base_dir = $CCACHE_DIR/../proj
cache_dir = ${CCACHE_DIR}
ceiling_dirs = /nonexistent
ceiling_markers = .git
compiler = gcc
compiler_check = mtime
compiler_type = gcc
compression = true
compression_level = 1
cpp_extension = i
debug = false
debug_dir =
debug_level = 2
depend_mode = false
direct_mode = true
disable = false
extra_files_to_hash =
file_clone = false
hard_link = false
hash_dir = true
ignore_headers_in_manifest =
ignore_options = -fmessage-length=* -fdiagnostics-color
inode_cache = true
keep_comments_cpp = false
libexec_dirs = /usr/libexec/ccache
log_file = $CCACHE_DIR/objcache.log
max_files = 0
max_size = 10
msvc_dep_prefix = Note: including file:
msvc_utf8 = true
namespace = proj$$1
path =
pch_external_checksum = false
prefix_command =
prefix_command_cpp =
read_only = false
read_only_direct = false
recache = false
remote_only = false
remote_storage =
  file://$CCACHE_DIR/../shared @layout=subdirs @umask=002 @update-mtime=true
    data-timeout=10s request-timeout=1m idle-timeout=10m read-only=false
  # A comment inside the value.
reshare = false
response_file_format = auto
safe_dirs =
sloppiness =
  time_macros,
  locale
stats = true
stats_log = ${CCACHE_DIR}/stats.log
temporary_dir = $CCACHE_DIR/tmp
umask = 002
",
    );
    let p = run(env.objcache().arg("-p"));
    assert!(p.success(), "-p refused the configuration:\n{}", p.dump());
    let shown = p.stdout_str();
    for want in [
        "max_size = 10.0GiB".to_string(),
        "namespace = proj$1".to_string(),
        "sloppiness = time_macros, locale".to_string(),
        format!(
            "file://{}/../shared @layout=subdirs @umask=002",
            env.cache_dir.display()
        ),
        format!(
            "log_file = {}",
            env.cache_dir.join("objcache.log").display()
        ),
    ] {
        assert!(shown.contains(&want), "-p lacks {want:?}:\n{shown}");
    }

    let first = util_c(&proj).check_obj(&env, &expected);
    assert_no_warning(&first.out);
    let second = util_c(&proj).check_obj(&env, &expected);
    assert_no_warning(&second.out);
    let s = env.stats();
    assert_eq!(get(&s, "bad_config"), 0, "{s:?}");
    assert_eq!((hits(&s), get(&s, "cache_miss")), (1, 1), "{s:?}");
    assert_eq!(get(&s, "remote_storage_error"), 0, "{s:?}");
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}");
    assert_eq!(
        get(&s, "max_cache_size_kibibyte"),
        10 << 20,
        "a bare max_size is in GiB"
    );
    // `$CCACHE_DIR` in log_file was expanded.
    let log = fs::read_to_string(env.cache_dir.join("objcache.log")).unwrap();
    assert!(!log.is_empty());
    // The shared directory holds entries and is tagged as a cache.
    let tag = fs::read_to_string(shared.join("CACHEDIR.TAG")).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    assert!(walk_files(&shared).len() >= 2);
}

/// A remote line objcache has no backend for (`ftp://`, a ccache 4.13
/// helper's properties) leaves that backend out, with the reason in the
/// log; the local cache goes on working.
#[test]
fn a_remote_without_a_backend_keeps_the_local_cache() {
    let (env, proj) = proj_fixture();
    let expected = util_c(&proj).plain().obj;
    let log = env.root().join("log.txt");
    let log_s = log.display().to_string();
    let vars = [
        (
            "CCACHE_REMOTE_STORAGE",
            "ftp://cache.example.com/c @bearer-token=Sekr1tTok idle-timeout=10m \
             backfill=best-effort",
        ),
        ("CCACHE_LOGFILE", log_s.as_str()),
    ];
    for _ in 0..2 {
        let got = util_c(&proj).envs(&vars).check_obj(&env, &expected);
        assert_no_warning(&got.out);
    }
    let s = env.stats();
    assert_eq!(get(&s, "bad_config"), 0, "{s:?}");
    assert_eq!((hits(&s), get(&s, "cache_miss")), (1, 1), "{s:?}");
    let log = fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("unsupported remote storage URL \"ftp://cache.example.com/c\""),
        "{log}"
    );
    assert!(!log.contains("Sekr1tTok"), "{log}");
}

/// ccache's manual: a set boolean variable is true whatever its value,
/// the empty string too, except 0, false, disable and no (any case),
/// which are errors; `CCACHE_NO<NAME>` sets false whatever its value.
#[test]
fn boolean_variables_as_ccache_parses_them() {
    let env = TestEnv::new();
    for bad in ["0", "false", "FALSE", "disable", "No"] {
        let (ok, _, err) = k(&env, "direct_mode", &[("CCACHE_DIRECT", bad)]);
        assert!(!ok, "CCACHE_DIRECT={bad} accepted");
        assert!(err.contains("CCACHE_DIRECT"), "{err}");
    }
    for (var, value, want) in [
        ("CCACHE_DIRECT", "", "true"),
        ("CCACHE_DIRECT", "1", "true"),
        ("CCACHE_DIRECT", "off", "true"),
        ("CCACHE_NODIRECT", "0", "false"),
        ("CCACHE_NODIRECT", "", "false"),
    ] {
        let (ok, shown, err) = k(&env, "direct_mode", &[(var, value)]);
        assert!(ok, "{var}={value}: {err}");
        assert_eq!(shown, want, "{var}={value}");
    }
    let (_, shown, _) = k(&env, "compression", &[("CCACHE_NOCOMPRESS", "yes")]);
    assert_eq!(shown, "false");

    // While compiling: a warning, the compile runs uncached and counts.
    let (penv, proj) = proj_fixture();
    let expected = util_c(&proj).plain().obj;
    let got = util_c(&proj)
        .env("CCACHE_DIRECT", "0")
        .check_obj(&penv, &expected);
    let err = got.out.stderr_str();
    assert!(
        err.contains("objcache: warning:") && err.contains("CCACHE_DIRECT"),
        "{err}"
    );
    assert_eq!(penv.stat("bad_config"), 1);
}

/// `$VAR` and `${VAR}` in files and variables, `$$` for a `$`; an unset
/// variable is bad configuration, as in ccache.
#[test]
fn variables_are_expanded_in_values() {
    let env = TestEnv::new();
    write_conf(&env, "namespace = ${TEAM}-$TEAM.$$x$\n");
    let (ok, shown, err) = k(&env, "namespace", &[("TEAM", "blue")]);
    assert!(ok, "{err}");
    assert_eq!(shown, "blue-blue.$x$");
    let (_, shown, _) = k(
        &env,
        "namespace",
        &[("TEAM", "red"), ("CCACHE_NAMESPACE", "ns-$TEAM")],
    );
    assert_eq!(shown, "ns-red");

    write_conf(&env, "namespace = a\nprefix_command = $UNSET_FOR_TEST\n");
    let (ok, _, err) = k(&env, "namespace", &[]);
    assert!(!ok, "an unset variable is bad configuration");
    assert!(
        err.contains("ccache.conf:2: prefix_command") && err.contains("\"UNSET_FOR_TEST\" not set"),
        "{err}"
    );
    // Set but empty is set.
    assert!(k(&env, "namespace", &[("UNSET_FOR_TEST", "")]).0);
}

#[test]
fn indented_lines_continue_a_value() {
    let env = TestEnv::new();
    write_conf(
        &env,
        "ignore_options =\n  -Wall\n  -Wextra\n  # a comment inside\n\n  -pedantic\n\
         # This ends the multi-line value\ncompiler = gcc\n",
    );
    assert_eq!(k(&env, "ignore_options", &[]).1, "-Wall -Wextra -pedantic");
    assert_eq!(k(&env, "compiler", &[]).1, "gcc");
}

#[test]
fn max_size_is_5_gib_and_a_bare_number_is_gib() {
    let env = TestEnv::new();
    assert_eq!(k(&env, "max_size", &[]).1, "5.0GiB");
    assert_eq!(env.stat("max_cache_size_kibibyte"), 5 << 20);
    let size_line = || {
        let s = run_ok(env.objcache().arg("-s")).stdout_str();
        let line = s.lines().find(|l| l.contains("Cache size")).map(str::trim);
        line.unwrap_or_default().to_string()
    };
    assert_eq!(size_line(), "Cache size (GiB): 0.00 / 5.00 ( 0.00%)");
    let m = run_ok(env.objcache().args(["-M", "10"])).stdout_str();
    assert_eq!(m.trim(), "Set cache size limit to 10.0 GiB");
    assert_eq!(env.stat("max_cache_size_kibibyte"), 10 << 20);
    assert_eq!(k(&env, "max_size", &[]).1, "10.0GiB");
    assert_eq!(size_line(), "Cache size (GiB): 0.00 / 10.00 ( 0.00%)");
    // Sizes are shown in the units the limit was given in, as ccache does.
    let m = run_ok(env.objcache().args(["-M", "10G"])).stdout_str();
    assert_eq!(m.trim(), "Set cache size limit to 10.0 GB");
    assert_eq!(env.stat("max_cache_size_kibibyte"), 9_765_625);
    assert_eq!(size_line(), "Cache size (GB): 0.00 / 10.00 ( 0.00%)");
}

/// URLs objcache cannot use are refused with ccache's messages, masked.
#[test]
fn bad_remote_urls_are_named_clearly() {
    let env = TestEnv::new();
    for (value, want) in [
        ("read-only", "must provide a URL"),
        ("@layout=flat http://h/c", "must provide a URL"),
        ("://h/c", "Cannot parse URL"),
        ("/h/c", "URL scheme must not be empty"),
        (
            "http://u:Sekr1tPw@/c",
            "Cannot parse URL \"http://u:********@/c\"",
        ),
        ("http://h:80x/c", "Cannot parse URL"),
        ("redis://h data-timeout=10x", "invalid duration"),
    ] {
        let out = run(env
            .objcache()
            .args(["-o", &format!("remote_storage={value}")]));
        assert!(!out.success(), "{value:?} accepted");
        let err = out.stderr_str();
        assert!(err.contains(want), "{value:?}: {err}");
        assert!(!err.contains("Sekr1tPw"), "{err}");
    }
    // 4.13's time units are valid.
    run_ok(env.objcache().args([
        "-o",
        "remote_storage=redis://h connect-timeout=500ms data-timeout=10s idle-timeout=10m",
    ]));
}

// ---------------------------------------------------------------------------
// HTTP authentication against a real nginx
// ---------------------------------------------------------------------------

/// `GET path` on 127.0.0.1:port with extra header lines: the status code.
fn http_status(port: u16, path: &str, headers: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split(' ').nth(1)?.parse().ok()
}

/// The tests' nginx, reconfigured with three protected locations:
/// `/basic/` (user alice, password `Pw@rd1`), `/bearer/` (token `Tok3n`)
/// and `/header/` (`X-Team: blue`).
fn nginx_with_auth() -> Nginx {
    let nginx = Nginx::start();
    let root = nginx.www.parent().unwrap().to_path_buf();
    let www = nginx.www.display().to_string();
    fs::write(root.join("htpasswd"), "alice:{PLAIN}Pw@rd1\n").unwrap();
    let conf_path = root.join("nginx.conf");
    let conf = fs::read_to_string(&conf_path).unwrap();
    let store = format!("root {www}; dav_methods PUT; create_full_put_path on;");
    let extra = format!(
        "location /basic/ {{ {store} auth_basic \"cache\"; auth_basic_user_file {}; }}
        location /bearer/ {{ {store} if ($http_authorization != \"Bearer Tok3n\") {{ return 401; }} }}
        location /header/ {{ {store} if ($http_x_team != \"blue\") {{ return 403; }} }}
        location / {{",
        root.join("htpasswd").display()
    );
    let conf = conf.replacen("location / {", &extra, 1);
    fs::write(&conf_path, conf).unwrap();
    nginx.reload_config();
    let start = Instant::now();
    while http_status(nginx.port, "/basic/x", "") != Some(401) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "nginx did not reload its configuration"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

/// Two runners (cache directories) with the same remote line: the first
/// stores, the second must hit from the server. Returns the second's stats.
fn shared_through(url: &str, proj: &Path, expected: &[u8]) -> (Stats, String) {
    let mut stats = None;
    let mut log_text = String::new();
    for _ in 0..2 {
        let env = TestEnv::new();
        let log = env.root().join("log.txt");
        let got = util_c(proj)
            .env("CCACHE_REMOTE_STORAGE", url)
            .env("CCACHE_LOGFILE", &log.display().to_string())
            .check_obj(&env, expected);
        assert_no_warning(&got.out);
        stats = Some(env.stats());
        log_text = fs::read_to_string(&log).unwrap_or_default();
    }
    (stats.unwrap(), log_text)
}

#[test]
fn http_basic_auth_bearer_token_and_header_reach_nginx() {
    let nginx = nginx_with_auth();
    let (_penv, proj) = proj_fixture();
    let expected = util_c(&proj).plain().obj;
    for (url, dir) in [
        // `@` in the password, percent-encoded in the URL.
        (
            nginx.url("/basic/c").replace("//", "//alice:Pw%40rd1@"),
            "basic/c",
        ),
        (
            format!(
                "{} @bearer-token=Tok3n connect-timeout=500ms data-timeout=10s",
                nginx.url("/bearer/c")
            ),
            "bearer/c",
        ),
        (
            format!("{} @header=X-Team=blue", nginx.url("/header/c")),
            "header/c",
        ),
    ] {
        let (s, log) = shared_through(&url, &proj, &expected);
        assert_eq!(get(&s, "remote_storage_hit"), 1, "{url}: {s:?}\n{log}");
        assert_eq!(get(&s, "remote_storage_error"), 0, "{url}: {s:?}\n{log}");
        assert!(
            !walk_files(&nginx.www.join(dir)).is_empty(),
            "{url}: nothing stored"
        );
        for secret in ["Pw%40rd1", "Pw@rd1", "Tok3n"] {
            assert!(
                !log.contains(secret),
                "{url}: the log shows {secret}:\n{log}"
            );
        }
    }
}

/// A backend that refuses: the reason is in the log (masked), the compile
/// goes on, and the counter says so.
#[test]
fn a_refusing_backend_says_why_in_the_log() {
    let nginx = nginx_with_auth();
    let (_penv, proj) = proj_fixture();
    let expected = util_c(&proj).plain().obj;
    for (url, status) in [
        (
            nginx.url("/basic/c").replace("//", "//alice:WrongPw9@"),
            "401",
        ),
        (
            format!("{} @bearer-token=WrongTok9", nginx.url("/bearer/c")),
            "401",
        ),
        (
            format!("{} @header=X-Team=red", nginx.url("/header/c")),
            "403",
        ),
    ] {
        let (s, log) = shared_through(&url, &proj, &expected);
        assert_eq!(get(&s, "remote_storage_hit"), 0, "{s:?}");
        assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
        assert!(
            log.contains(&format!("status code: {status}")) && log.contains("remote storage"),
            "{url}: no reason in the log:\n{log}"
        );
        for secret in ["WrongPw9", "WrongTok9"] {
            assert!(!log.contains(secret), "the log shows {secret}:\n{log}");
        }
    }
}

/// `read_only_direct` as ccache's manual has it: like `read_only`, and
/// results come from direct mode only. A direct hit is served; a result
/// stored without a manifest is not looked up; a miss compiles and stores
/// nothing.
#[test]
fn read_only_direct_serves_direct_hits_only() {
    let (env, proj) = proj_fixture();
    let ro = [("CCACHE_READONLY_DIRECT", "1")];
    // util.c with a manifest; math.c's result stored in preprocessor mode only.
    util_c(&proj).check(&env);
    let math = ["-c", "src/math.c", "-o", "math.o", "-I", "include"];
    let math = Compile::new(&proj, "gcc", &math, "math.o");
    math.clone().env("CCACHE_NODIRECT", "1").check(&env);
    let files_before = env.stat("files_in_cache");
    let direct_before = env.stat("direct_cache_hit");
    let pp_before = env.stat("preprocessed_cache_hit");

    util_c(&proj).envs(&ro).check(&env);
    assert_eq!(env.stat("direct_cache_hit"), direct_before + 1);
    math.clone().envs(&ro).check(&env);
    assert_eq!(
        env.stat("preprocessed_cache_hit"),
        pp_before,
        "no pp lookup"
    );
    let new = ["-c", "src/main.c", "-o", "main.o", "-I", "include"];
    Compile::new(&proj, "gcc", &new, "main.o")
        .envs(&ro)
        .check(&env);
    assert_eq!(env.stat("files_in_cache"), files_before, "nothing stored");
    assert_eq!(env.stat("cache_miss"), 2 + 2);
}
