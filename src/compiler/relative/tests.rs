//! base_dir's rewrite against real directories.
use super::*;

fn relativize_in(args: &[String], cwd: &str, base: &BaseDirs) -> Outcome {
    relativize(args, &options::tokens(args), cwd, cwd, base)
}

#[test]
fn rewrites_sources_and_include_dirs_not_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap();
    for d in ["proj/src", "proj/include", "proj/build"] {
        std::fs::create_dir_all(format!("{root}/{d}")).unwrap();
    }
    std::fs::write(format!("{root}/proj/src/x.c"), "int x;\n").unwrap();
    let build = format!("{root}/proj/build");
    let base = BaseDirs::one(root);
    let args: Vec<String> = [
        "-I",
        &format!("{root}/proj/include/"),
        &format!("-isystem{root}/proj/missing"),
        "-o",
        &format!("{build}/x.o"),
        "-MF",
        &format!("{build}/x.d"),
        &format!("-fdebug-prefix-map={root}=."),
        "-c",
        &format!("{root}/proj/src/x.c"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let Outcome::Rewritten(r) = relativize_in(&args, &build, &base) else {
        panic!("not rewritten");
    };
    assert_eq!(
        r.args[..3],
        ["-I", "../include", "-isystem../missing"],
        "{r:?}"
    );
    assert_eq!(r.args[3..9], args[3..9], "outputs and maps as given");
    assert_eq!(r.args[9], "../src/x.c");
    assert_eq!(
        r.map.original("../include/a.h"),
        Some(format!("{root}/proj/include/a.h"))
    );
    // A relative path of the user's that a rewritten one could be taken for.
    let mut mixed = args.clone();
    mixed.push("-I../include/sub".into());
    assert!(matches!(
        relativize_in(&mixed, &build, &base),
        Outcome::Declined(_)
    ));
    // A trailing `/.` stays apart from the directory of a source there.
    let mut dotted = args.clone();
    dotted.push(format!("-I{root}/proj/src/."));
    let Outcome::Rewritten(r) = relativize_in(&dotted, &build, &base) else {
        panic!("not rewritten");
    };
    assert_eq!(r.args.last().unwrap(), "-I../src/.");
    assert_eq!(
        r.map.original("../src/./a.h"),
        Some(format!("{root}/proj/src/./a.h"))
    );
    assert_eq!(
        r.map.original("../src/a.h"),
        Some(format!("{root}/proj/src/a.h"))
    );
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_working_directory_and_files_in_it_become_dot_relative() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let p = format!("{}/proj", root.to_str().unwrap());
    std::fs::create_dir_all(format!("{p}/include")).unwrap();
    std::fs::write(format!("{p}/x.c"), "int x;\n").unwrap();
    let base = BaseDirs::one(root.to_str().unwrap());
    let (inc, src) = (format!("-I{p}/include"), format!("{p}/x.c"));
    let args = strings(&["-I", &p, &inc, "-c", &src, "-o", "x.o"]);
    let Outcome::Rewritten(r) = relativize_in(&args, &p, &base) else {
        panic!("not rewritten");
    };
    assert_eq!(r.args, ["-I", ".", "-Iinclude", "-c", "./x.c", "-o", "x.o"]);
    // The `.d` drops `./`: every relative dependency is the directory's.
    let dep = |d: &str| r.map.original_dependency(d);
    assert_eq!(dep("x.c"), Some(src.clone()));
    assert_eq!(dep("a.h"), Some(format!("{p}/a.h")));
    assert_eq!(dep("include/b.h"), Some(format!("{p}/include/b.h")));
    assert_eq!(r.map.original("./a.h:2:1:"), Some(format!("{p}/a.h:2:1:")));
    // A relative path of the call's own could be taken for one of
    // those: the paths in the directory keep their spelling, the rest
    // is rewritten as before.
    let mut mixed = args.clone();
    mixed.push("-Igen".into());
    let Outcome::Rewritten(r) = relativize_in(&mixed, &p, &base) else {
        panic!("not rewritten");
    };
    assert_eq!(r.args[..5], ["-I", &p, "-Iinclude", "-c", &src]);
    assert!(r
        .kept
        .iter()
        .any(|k| k.contains("-Igen") || k.contains("gen too")));
    // So does a path that climbs out: `../x/a.h` in the `.d` could be
    // `./../x/a.h` or `-I../x`'s `a.h`.
    let sub = format!("{p}/include");
    let args = strings(&["-I", &sub, "-c", &src]);
    let Outcome::Rewritten(r) = relativize_in(&args, &sub, &base) else {
        panic!("not rewritten");
    };
    assert_eq!(r.args, ["-I", &sub, "-c", "../x.c"]);
}

#[test]
fn prefix_maps_apply_to_the_directory() {
    let args: Vec<String> = [
        "-g",
        "-fdebug-prefix-map=/ci/a=.",
        "-ffile-prefix-map=/ci/a/proj=/src",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(apply_prefix_maps("/ci/a/proj/build", &args), "/src/build");
    assert_eq!(apply_prefix_maps("/ci/a/other", &args), "./other");
    // Byte for byte, as gcc and clang compare: a trailing `/` in OLD does
    // not map the directory itself.
    assert_eq!(apply_prefix_maps("/ci/ab", &args), ".b");
    let slash = ["-fdebug-prefix-map=/ci/a/=.".to_string()];
    assert_eq!(apply_prefix_maps("/ci/a", &slash), "/ci/a");
    assert_eq!(apply_prefix_maps("/ci/a/x", &slash), ".x");
}

#[test]
fn only_debug_maps_apply_to_the_directory() {
    let args = ["-fmacro-prefix-map=/ci=/m", "-fprofile-prefix-map=/ci=/p"];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    assert_eq!(apply_prefix_maps("/ci/a", &args), "/ci/a");
}

#[test]
fn values_that_are_not_paths_pass_as_given() {
    // `-iframeworkwithsysroot DIR` names a directory in the sysroot: its
    // value is not a source to rewrite.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap();
    std::fs::create_dir_all(format!("{root}/b")).unwrap();
    std::fs::write(format!("{root}/x.c"), "int x;\n").unwrap();
    let args: Vec<String> = ["-iframeworkwithsysroot", &format!("{root}/fw"), "-c"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("{root}/x.c")])
        .collect();
    let b = format!("{root}/b");
    let Outcome::Rewritten(r) = relativize_in(&args, &b, &BaseDirs::one(root)) else {
        panic!("not rewritten");
    };
    assert_eq!(r.args[..3], args[..3]);
    assert_eq!(r.args[3], "../x.c");
}

#[test]
fn profile_inputs_are_given_relative_outputs_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap();
    std::fs::create_dir_all(format!("{root}/p/build")).unwrap();
    let build = format!("{root}/p/build");
    let base = BaseDirs::one(root);
    let use_ = strings(&[
        &format!("-fprofile-use={root}/p/pd"),
        &format!("-fprofile-sample-use={root}/p/s.prof"),
        &format!("-fprofile-dir={root}/p/pd"),
        "-c",
        "x.c",
    ]);
    let Outcome::Rewritten(r) = relativize_in(&use_, &build, &base) else {
        panic!("not rewritten");
    };
    assert_eq!(
        r.args[..3],
        [
            "-fprofile-use=../pd",
            "-fprofile-sample-use=../s.prof",
            "-fprofile-dir=../pd"
        ]
    );
    assert!(r.map.is_empty(), "no .d names profiles: {:?}", r.map);
    // Instrumented, the object names the directory as given.
    for generate in ["-fprofile-generate", "--coverage"] {
        let mut args = use_[2..].to_vec();
        args.push(generate.into());
        args.push(format!("-fprofile-generate={root}/p/out"));
        assert!(matches!(
            relativize_in(&args, &build, &base),
            Outcome::Unchanged { .. }
        ));
    }
}
