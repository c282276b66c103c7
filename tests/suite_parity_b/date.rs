//! `__DATE__` in direct mode: the object is the compiler's for the date it
//! expands, whichever of the source, a header or a pasted macro names it,
//! and whatever sets the date (`SOURCE_DATE_EPOCH` for gcc, the local
//! date in the time zone for both compilers).

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const DAY: u64 = 86_400;

/// Time zones whose dates differ at any moment (UTC+14 and UTC-12).
const EAST: &str = "<P14>-14";
const WEST: &str = "<M12>12";

/// What one call added to the counters.
#[derive(Debug, PartialEq)]
struct Served {
    direct: u64,
    preprocessed: u64,
    miss: u64,
}

fn counters(env: &TestEnv) -> (u64, u64, u64) {
    let s = env.stats();
    (
        get(&s, "direct_cache_hit"),
        get(&s, "preprocessed_cache_hit"),
        get(&s, "cache_miss"),
    )
}

/// `cc ARGS` in `dir` with `vars` set for the plain compiler and objcache
/// alike (`TZ`, `SOURCE_DATE_EPOCH`): objcache's `t.o` must be the
/// compiler's. Returns how the call was served and the object.
#[track_caller]
fn compile(
    env: &TestEnv,
    dir: &Path,
    cc: &str,
    args: &[&str],
    vars: &[(&str, &str)],
) -> (Served, Vec<u8>) {
    let mut plain = Command::new(cc);
    clean_env(&mut plain)
        .current_dir(dir)
        .args(args)
        .envs(vars.iter().copied());
    run_ok(&mut plain);
    let expected = read(&dir.join("t.o"));
    rm(&dir.join("t.o"));
    let before = counters(env);
    let mut cached = env.objcache_in(dir, std::iter::once(cc).chain(args.iter().copied()));
    cached.envs(vars.iter().copied());
    let out = run(&mut cached);
    assert!(out.success(), "{cc} {args:?} {vars:?}: {}", out.dump());
    let got = read(&dir.join("t.o"));
    assert_bytes_eq(
        &got,
        &expected,
        &format!("object of {cc} {args:?} {vars:?}"),
    );
    let after = counters(env);
    let served = Served {
        direct: after.0 - before.0,
        preprocessed: after.1 - before.1,
        miss: after.2 - before.2,
    };
    (served, got)
}

const fn served(direct: u64, preprocessed: u64, miss: u64) -> Served {
    Served {
        direct,
        preprocessed,
        miss,
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A project whose header makes the date: `DATE_H` in `date.h`, included
/// by `t.c`.
fn project(env: &TestEnv, date_h: &str) -> std::path::PathBuf {
    let dir = env.dir("p");
    fs::write(dir.join("date.h"), date_h).unwrap();
    fs::write(
        dir.join("t.c"),
        "#include \"date.h\"\nconst char date_str[] = MACRO_STRING;\n",
    )
    .unwrap();
    dir
}

/// ccache's direct 58: `__DATE__` in a header keeps direct mode, and the
/// date is in what the record is kept under: another date is a miss with
/// the compiler's object, the first date hits its own object again.
#[test]
fn date_in_a_header_keeps_direct_mode() {
    let env = TestEnv::new();
    let dir = project(&env, "#define MACRO_STRING __DATE__\n");
    let args = ["-MP", "-MMD", "-MF", "t.d", "-c", "t.c", "-o", "t.o"];
    let (day1, day40) = ((DAY + 5).to_string(), (40 * DAY).to_string());
    let at = |sde: &str| [("SOURCE_DATE_EPOCH", sde.to_string()), ("TZ", "UTC".into())];
    let call = |sde: &str| {
        let vars = at(sde);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        compile(&env, &dir, "gcc", &args, &vars)
    };
    let (s, first) = call(&day1);
    assert_eq!(s, served(0, 0, 1));
    assert!(
        contains(&first, "Jan  2 1970"),
        "gcc took SOURCE_DATE_EPOCH"
    );
    assert_eq!(call(&day1).0, served(1, 0, 0), "direct hit on the same day");
    let (s, other) = call(&day40);
    assert_eq!(s, served(0, 0, 1), "another day: a miss");
    assert!(contains(&other, "Feb 10 1970"));
    assert_eq!(call(&day40).0, served(1, 0, 0));
    assert_eq!(call(&day1).0, served(1, 0, 0), "the first day's own object");
}

/// ccache's source_date_epoch 2: `__DATE__` in the source. Another
/// `SOURCE_DATE_EPOCH` of the same day is a direct miss and a
/// preprocessed hit; another day a miss.
#[test]
fn date_in_the_source_is_keyed_by_source_date_epoch() {
    let env = TestEnv::new();
    let dir = env.dir("p");
    fs::write(dir.join("t.c"), "char x[] = __DATE__;\n").unwrap();
    let args = ["-c", "t.c", "-o", "t.o"];
    let call = |sde: &str| {
        let vars = [("SOURCE_DATE_EPOCH", sde), ("TZ", "UTC")];
        compile(&env, &dir, "gcc", &args, &vars).0
    };
    assert_eq!(call("1"), served(0, 0, 1));
    assert_eq!(call("1"), served(1, 0, 0));
    assert_eq!(call("2"), served(0, 1, 0));
    assert_eq!(call(&(40 * DAY).to_string()), served(0, 0, 1));
}

/// Without `SOURCE_DATE_EPOCH` the date is the local one: two time zones
/// a day apart never share a record. clang 14 ignores
/// `SOURCE_DATE_EPOCH`, so with it set the local date still counts.
#[test]
fn local_date_is_keyed_by_time_zone() {
    for (cc, sde) in [("gcc", None), ("clang", None), ("clang", Some("86400"))] {
        if !have(cc) {
            eprintln!("skipping {cc}: not installed");
            continue;
        }
        let env = TestEnv::new();
        let dir = project(&env, "#define MACRO_STRING __DATE__\n");
        let args = ["-c", "t.c", "-o", "t.o"];
        let call = |tz: &str| {
            let mut vars = vec![("TZ", tz)];
            vars.extend(sde.map(|s| ("SOURCE_DATE_EPOCH", s)));
            compile(&env, &dir, cc, &args, &vars)
        };
        let (s, east) = call(EAST);
        assert_eq!(s, served(0, 0, 1), "{cc} {sde:?}");
        assert_eq!(call(EAST).0, served(1, 0, 0), "{cc} {sde:?}");
        let (s, west) = call(WEST);
        assert_eq!((s.direct, s.miss), (0, 1), "{cc} {sde:?}: another date");
        assert_ne!(east, west, "{cc} {sde:?}: the dates differ");
        assert_eq!(call(WEST).0, served(1, 0, 0), "{cc} {sde:?}");
    }
}

/// A date no name shows: `__DATE__` pasted together in a header. The
/// preprocessed text shows it, so the record is kept under the date.
#[test]
fn a_pasted_date_is_keyed_too() {
    let env = TestEnv::new();
    let dir = project(
        &env,
        "#define CAT(a, b) a##b\n#define MACRO_STRING CAT(__DA, TE__)\n",
    );
    let args = ["-c", "t.c", "-o", "t.o"];
    let call = |sde: u64| {
        let sde = sde.to_string();
        let vars = [("SOURCE_DATE_EPOCH", sde.as_str()), ("TZ", "UTC")];
        compile(&env, &dir, "gcc", &args, &vars).0
    };
    assert_eq!(call(DAY), served(0, 0, 1));
    assert_eq!(call(DAY), served(1, 0, 0));
    assert_eq!(call(40 * DAY), served(0, 0, 1));
    assert_eq!(call(DAY), served(1, 0, 0));
}

/// `__TIME__` in a header keeps direct mode off: preprocessed hits only.
#[test]
fn time_in_a_header_keeps_direct_mode_off() {
    let env = TestEnv::new();
    let dir = project(&env, "#define MACRO_STRING __TIME__\n");
    let args = ["-c", "t.c", "-o", "t.o"];
    let vars = [("SOURCE_DATE_EPOCH", "100"), ("TZ", "UTC")];
    assert_eq!(compile(&env, &dir, "gcc", &args, &vars).0, served(0, 0, 1));
    assert_eq!(compile(&env, &dir, "gcc", &args, &vars).0, served(0, 1, 0));
    assert_eq!(compile(&env, &dir, "gcc", &args, &vars).0, served(0, 1, 0));
}

/// A compile that runs over midnight: the preprocessor sees one day, the
/// compiler (slowed by a wrapper) the next. Nothing is stored, so a call
/// in a time zone where it is still the first day gets the compiler's
/// object for that day, not the one with the next day's date.
#[test]
fn a_compile_over_midnight_is_not_stored() {
    require("gcc");
    let env = TestEnv::new();
    let dir = project(&env, "#define MACRO_STRING __DATE__\n");
    let bin = env.dir("bin");
    let slow = bin.join("gcc");
    fs::write(
        &slow,
        "#!/bin/sh\ncase \" $* \" in *\" -E \"*) ;; *) sleep 2.5 ;; esac\nexec gcc \"$@\"\n",
    )
    .unwrap();
    fs::set_permissions(&slow, fs::Permissions::from_mode(0o755)).unwrap();
    let slow = slow.display().to_string();
    // A zone where it is one second to midnight now, and one six hours
    // behind it, where the day has not ended by the second call.
    let secs = now_secs() + 1;
    let ahead = ((DAY - 1 - secs % DAY) % DAY) as i64;
    // POSIX TZ offsets are west of UTC: `<XYZ>-05` is five hours ahead.
    let zone = |offset: i64| {
        let (sign, o) = (if offset < 0 { '+' } else { '-' }, offset.unsigned_abs());
        let (h, m, s) = (o / 3600, o / 60 % 60, o % 60);
        format!("<XYZ>{sign}{h:02}:{m:02}:{s:02}")
    };
    let near_midnight = zone(ahead);
    // Six hours behind, west of UTC if need be: never wrapped into the
    // next day, whatever the time of day the test runs at.
    let behind = zone(ahead - 6 * 3600);
    let args = ["-c", "t.c", "-o", "t.o"];
    let mut cached = env.objcache_in(&dir, [slow.as_str()].iter().chain(&args));
    cached.env("TZ", &near_midnight);
    let out = run(&mut cached);
    assert!(out.success(), "{}", out.dump());
    let over = read(&dir.join("t.o"));
    // The second call compares its object with the plain compiler's.
    let (_, object) = compile(&env, &dir, &slow, &args, &[("TZ", behind.as_str())]);
    assert_ne!(over, object, "the two calls' dates differ");
}
