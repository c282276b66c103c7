use super::*;

#[test]
fn ignored_options_and_their_values_are_not_keyed() {
    let args: Vec<String> = ["-I", "inc", "-Wall", "-fmessage-length=3", "-O2", "-Wal"]
        .map(String::from)
        .into();
    let patterns = ["-I".to_string(), "-fmessage-*".into(), "-Wal".into()];
    assert_eq!(keyed_args(&args, &patterns), ["-Wall", "-O2"]);
    // `*` anywhere but at the end is an ordinary character.
    assert!(!is_ignored_option("-Wall", &["-W*l".to_string()]));
    assert!(is_ignored_option("-W*l", &["-W*l".to_string()]));
    let all = ["*".to_string()];
    assert!(!is_ignored_option("objcache-gcda-base:a.o", &all));
}

/// One analysis gives the compiler's, the preprocessor's and the keys'
/// forms of the same arguments, and reads each argument through the
/// option table once: a second analysis of the rewritten arguments, or
/// a second reading of each for its keys' form, would read more.
#[test]
fn one_pass_yields_every_form_of_a_rewritten_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap();
    for d in ["p/include", "p/build", "p/src"] {
        std::fs::create_dir_all(format!("{root}/{d}")).unwrap();
    }
    std::fs::write(format!("{root}/p/src/x.c"), "int x;\n").unwrap();
    let build = format!("{root}/p/build");
    let (sdk, source) = (format!("{root}/sdk"), format!("{root}/p/src/x.c"));
    let expanded = [
        &format!("-I{root}/p/include"),
        "-isysroot",
        &sdk,
        "-c",
        &source,
    ]
    .map(String::from)
    .to_vec();
    let call = vec!["@args.rsp".to_string()];
    let dirs = WorkingDir {
        apparent: build.clone(),
        physical: build,
    };
    let base = BaseDirs::one(root);
    options::LOOKUPS.with(|n| n.set(0));
    let place = Place {
        dirs: &dirs,
        base_dir: Some(&base),
    };
    let a = analyse_call(&call, &expanded, Some(place)).unwrap();
    let options = expanded.iter().filter(|x| x.starts_with('-')).count();
    assert_eq!(options::LOOKUPS.with(|n| n.get()), options);
    // The compiler's and the preprocessor's: relative where rewritten.
    let compiled = ["-I../include", "-isysroot", &sdk, "-c", "../src/x.c"];
    assert_eq!(a.compiler_args, compiled);
    assert_eq!(
        a.preprocessor_args,
        ["-I../include", "-isysroot", &sdk, "../src/x.c"]
    );
    assert_eq!(
        (a.input.as_str(), a.user_input.as_str()),
        ("../src/x.c", &*source)
    );
    // The keys': a rewritten path as the compiler is given it, one kept
    // absolute (`-isysroot` is not rewritten) related to base_dir, which
    // is named: the compiler's outputs name the path absolute.
    assert_eq!(a.cpp_args, ["-I../include"]);
    assert_eq!(a.hash_form(&a.cpp_args[0]), "-I../include");
    assert_eq!(a.hash_form(&a.input), "../src/x.c");
    assert_eq!(a.hash_args, ["-isysroot", &sdk, "-c"]);
    assert_eq!(a.hash_form(&a.hash_args[1]), format!("{root}:2|/sdk"));
    // And the way back to the user's spelling.
    let header = a.path_map.original("../include/h.h");
    assert_eq!(header, Some(format!("{root}/p/include/h.h")));
    assert!(a.base_dir_notes.iter().any(|n| n.contains("made relative")));
    // Without base_dir, the compiler runs with the call's own arguments.
    let a = analyse_call(&call, &expanded, None).unwrap();
    assert_eq!(a.hash_form(&a.hash_args[1]), sdk);
    assert!(a.path_map.is_empty() && a.base_dir_notes.is_empty());
    assert_eq!((a.compiler_args, a.input), (call, source));
}

/// With split DWARF the object names its `.dwo` by `-o` as given: an
/// output under base_dir is given relative, unless a `.d` takes its
/// target from it.
#[test]
fn split_dwarf_objects_are_given_relative() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap().to_string();
    let dirs = WorkingDir {
        apparent: root.clone(),
        physical: root.clone(),
    };
    let base = BaseDirs::one(&root);
    let place = Place {
        dirs: &dirs,
        base_dir: Some(&base),
    };
    let out = format!("{root}/t.o");
    let call = |extra: &[&str]| {
        let mut a: Vec<String> = ["-g", "-gsplit-dwarf", "-c", "t.c", "-o", &out]
            .map(String::from)
            .to_vec();
        a.extend(extra.iter().map(|e| e.to_string()));
        analyse_call(&a, &a, Some(place)).unwrap()
    };
    let a = call(&[]);
    assert_eq!(a.compiler_args[5], "t.o");
    assert_eq!(a.output, out, "objcache writes the file the call names");
    assert!(a
        .hash_args
        .contains(&"objcache-split-dwarf:t.o".to_string()));
    assert_eq!(call(&["-MD"]).compiler_args[5], out);
    assert_eq!(call(&["-MD", "-MT", "x"]).compiler_args[5], "t.o");
}

fn analyse_str(cmd: &str) -> Result<ArgsAnalysis, Counter> {
    let args: Vec<String> = cmd.split_whitespace().map(String::from).collect();
    analyse(&args)
}

#[test]
fn options_writing_unfollowed_files_are_refused() {
    for extra in [
        &["-MJ", "db.json"][..],
        &["-MJdb.json"],
        &["--save-temps"],
        &["--save-temps=obj"],
        &["-save-temps=cwd"],
    ] {
        let mut args: Vec<String> = ["-c", "t.c", "-o", "t.o"].map(String::from).to_vec();
        args.extend(extra.iter().map(|a| a.to_string()));
        assert_eq!(
            analyse(&args).err(),
            Some(Counter::UnsupportedCompilerOption),
            "{extra:?}"
        );
    }
}

#[test]
fn plain_compile() {
    let a = analyse_str("-O2 -Iinc -c src/foo.c -o out/foo.o").unwrap();
    assert_eq!(a.input, "src/foo.c");
    assert_eq!(a.output, "out/foo.o");
    assert_eq!(a.language, Language::C);
    assert_eq!(a.hash_args, ["-O2", "-c"]);
    assert_eq!(a.cpp_args, ["-Iinc"]);
    assert!(a.shares_preprocessed);
    assert_eq!(a.preprocessor_args, ["-O2", "-Iinc", "src/foo.c"]);
    assert!(a.deps.is_none());
}

#[test]
fn default_names() {
    let a = analyse_str("-c src/foo.cpp -MD").unwrap();
    assert_eq!(a.output, "foo.o");
    let d = a.deps.unwrap();
    assert_eq!(
        (d.file.as_str(), d.targets.join(" ").as_str()),
        ("foo.d", "foo.o")
    );
    let a = analyse_str("-c x.c -o build/x.obj -MMD -MP").unwrap();
    let d = a.deps.unwrap();
    assert_eq!(
        (d.file.as_str(), d.kind, d.phony),
        ("build/x.d", DepKind::User, true)
    );
    let a = analyse_str("-c x.c -MD -MF deps/x.dep -MT a -MQ $b").unwrap();
    let d = a.deps.unwrap();
    assert_eq!(
        (d.file.as_str(), d.targets.join(" ").as_str()),
        ("deps/x.dep", "a $$b")
    );
    let a = analyse_str("-c x.c -Wp,-MD,.x.o.d").unwrap();
    assert_eq!(a.deps.unwrap().file, ".x.o.d");
    assert_eq!(analyse_str("-S x.c").unwrap().output, "x.s");
}

#[test]
fn uncacheable_calls_name_their_reason() {
    assert_eq!(analyse_str("x.c -o x").unwrap_err(), Counter::CalledForLink);
    assert_eq!(
        analyse_str("-E x.c").unwrap_err(),
        Counter::CalledForPreprocessing
    );
    assert_eq!(
        analyse_str("-c a.c b.c").unwrap_err(),
        Counter::MultipleSourceFiles
    );
    assert_eq!(analyse_str("-c").unwrap_err(), Counter::NoInputFile);
    assert_eq!(
        analyse_str("-c a.c -o -").unwrap_err(),
        Counter::OutputToStdout
    );
    assert_eq!(
        analyse_str("-c a.c -save-temps").unwrap_err(),
        Counter::UnsupportedCompilerOption
    );
    assert_eq!(
        analyse_str("-c a.f90").unwrap_err(),
        Counter::UnsupportedSourceLanguage
    );
    assert_eq!(
        analyse_str("-x fortran -c a.c").unwrap_err(),
        Counter::UnsupportedSourceLanguage
    );
    assert!(analyse_str("-c conftest.c").is_ok());
    for link in [
        "conftest.c",
        "-o conftest conftest.c",
        "conftest.o",
        "sub/conftest.c",
    ] {
        assert_eq!(
            analyse_str(link).unwrap_err(),
            Counter::AutoconfTest,
            "{link}"
        );
    }
    assert_eq!(analyse_str("a.c").unwrap_err(), Counter::CalledForLink);
    assert_eq!(
        analyse_str("-c a.c -o").unwrap_err(),
        Counter::BadCompilerArguments
    );
    assert!(analyse_str("-x c -c a.txt").is_ok());
    assert!(analyse_str("-c a.c extra.o").is_ok());
}

#[test]
fn preprocessor_only_options_leave_the_result_key() {
    let a = analyse_str(
        "-c a.c -include-pch p.pch -isystem-after d -nostdinc++ -DX -Wp,-DY -Wp,-DZ,-DW \
         -fplugin=p.so",
    )
    .unwrap();
    let cpp = ["-isystem-after", "d", "-nostdinc++", "-DX", "-DY"];
    assert_eq!(a.cpp_args, cpp);
    assert_eq!(
        a.hash_args,
        [
            "-c",
            "-include-pch",
            "p.pch",
            "-Wp,-DZ,-DW",
            "-fplugin=p.so"
        ]
    );
    assert_eq!(a.extra_files, ["p.so"]);
    assert_eq!(a.extra_file_options, ["-fplugin=p.so"]);
    assert_eq!(a.pch.named, ["p.pch"]);
}

/// What the `-E` run whose text is the key is given, and what the keys
/// name, for options that change that text (see `hides_from_preprocessed`).
#[test]
fn the_key_text_keeps_its_line_markers_and_code() {
    for cmd in [
        "-c a.c -P",
        "-c a.c -Wp,-P",
        "-c a.c -Xpreprocessor -P",
        "-c a.c --ccache-skip -P",
        "-c a.c --no-line-commands",
        "-c a.c -dM",
    ] {
        let a = analyse_str(cmd).unwrap();
        assert_eq!(a.preprocessor_args, ["a.c"], "{cmd}");
        assert_eq!(
            a.hash_args.last().map(String::as_str),
            cmd.rsplit(' ').next()
        );
    }
    for cmd in ["-c a.c -Wp,-P,-DX", "-c a.c -Wp,-DX,-dM"] {
        let refused = analyse_str(cmd).unwrap_err();
        assert_eq!(refused, Counter::UnsupportedCompilerOption, "{cmd}");
    }
}

#[test]
fn skip_markers_are_not_given_to_the_compiler() {
    let given = args_of("--ccache-skip -O2 --ccache-skip --ccache-skip -c --ccache-skip");
    let kept = without_skip_markers(&given);
    assert_eq!(kept, ["-O2", "--ccache-skip", "-c"]);
    let a = analyse(&args_of("--ccache-skip -O2 -c a.c")).unwrap();
    assert_eq!(a.compiler_args, ["-O2", "-c", "a.c"]);
}

fn args_of(cmd: &str) -> Vec<String> {
    cmd.split_whitespace().map(String::from).collect()
}

#[test]
fn listing_names_are_left_out_of_the_key() {
    let a = analyse_str("-c a.c -Wa,-L,-adhln=x.lst -Xassembler -L").unwrap();
    assert_eq!(a.hash_args, ["-c", "-Wa,-L,-adhln=", "-Xassembler", "-L"]);
    assert_eq!(a.extra_outputs[0].path, "x.lst");
    let a = analyse_str("-c a.c -Xassembler -a=y.lst").unwrap();
    assert_eq!(a.hash_args, ["-c", "-Xassembler", "-a="]);
    assert_eq!(a.extra_outputs[0].path, "y.lst");
    let twice = analyse_str("-c a.c -Wa,-al -Wa,-a=x.lst").unwrap_err();
    assert_eq!(twice, Counter::UnsupportedCompilerOption);
}

#[test]
fn c_is_keyed_only_where_it_decides_the_output() {
    assert_eq!(
        analyse_str("-c -fsyntax-only a.c").unwrap().hash_args,
        ["-fsyntax-only"]
    );
    assert_eq!(analyse_str("-c -S a.c").unwrap().hash_args, ["-S"]);
    assert_eq!(analyse_str("-O2 -c a.c").unwrap().hash_args, ["-O2", "-c"]);
}

#[test]
fn depfiles_that_are_never_written() {
    let a = analyse_str("-c t.s -MD -MF x.d").unwrap();
    assert!(a.deps.is_none());
    assert_eq!(a.hash_args, ["-c", "-MD", "-MF", "x.d"]);
    assert!(analyse_str("-c t.S -MD").unwrap().deps.is_some());
    assert!(analyse_str("-c t.c -MD -MF /dev/null")
        .unwrap()
        .deps
        .is_none());
}

#[test]
fn wp_dependency_lists() {
    let a = analyse_str("-c a.c -Wp,-MMD,a.d,-MQ,$x,-MP,-MT,t").unwrap();
    let d = a.deps.unwrap();
    assert_eq!(
        (d.file.as_str(), d.kind, d.phony),
        ("a.d", DepKind::User, true)
    );
    assert_eq!(d.targets, ["t", "$$x"]);
    // Keyed, which leaves direct mode off.
    assert_eq!(a.hash_args[1], "-Wp,-MMD,a.d,-MQ,$x,-MP,-MT,t");
    for refused in [
        "-c a.c -Wp,-MMD,a.d -MF b.d",
        "-c a.c -MF b.d -Wp,-MD,a.d",
        "-c a.c -MT x -Wp,-MD,a.d,-MT,y",
        "-c a.c -Wp,-MD,a.d,-MT,y -MQ x",
        "-c a.c -Wp,-MD,a.d,-DX",
        "-c a.c -Wp,-MD,a.d,-MT",
    ] {
        let counter = analyse_str(refused).unwrap_err();
        assert_eq!(counter, Counter::UnsupportedCompilerOption, "{refused}");
    }
}

#[test]
fn debug_info_detection() {
    assert!(analyse_str("-g -c a.c").unwrap().debug_info);
    assert!(analyse_str("-gdwarf-4 -c a.c").unwrap().debug_info);
    assert!(!analyse_str("-g -g0 -c a.c").unwrap().debug_info);
    assert!(!analyse_str("-c a.c").unwrap().debug_info);
    assert!(!analyse_str("-gz -c a.c").unwrap().debug_info);
    assert!(!analyse_str("-gz=zlib -c a.c").unwrap().debug_info);
    assert!(analyse_str("-g -gz -c a.c").unwrap().debug_info);
}

/// `-MT`/`-MQ` are keyed by name and in order, never by their targets;
/// the joined spellings are the same options.
#[test]
fn dependency_target_options_are_keyed_by_name() {
    let key = |cmd: &str| analyse_str(cmd).unwrap().hash_args;
    let mq = key("-c t.c -MMD -MQ a");
    assert_eq!(mq, key("-c t.c -MMD -MQ b"));
    assert_eq!(mq, key("-c t.c -MMD -MQb"));
    assert_ne!(mq, key("-c t.c -MMD"));
    assert_ne!(mq, key("-c t.c -MMD -MT a"));
    assert_ne!(mq, key("-c t.c -MMD -MQ a -MQ b"));
    assert_ne!(
        key("-c t.c -MMD -MQ a -MT b"),
        key("-c t.c -MMD -MT b -MQ a")
    );
    assert_eq!(key("-c t.c -MMD -MF a.d"), key("-c t.c -MMD -MF b.d"));
    assert_eq!(key("-c t.c -Wp,-MMD,a.d"), key("-c t.c -Wp,-MMD,b.d"));
    assert_ne!(key("-c t.c -Wp,-MMD,a.d"), key("-c t.c -MMD -MF a.d"));
}

/// An option taking a separate value is cut out of every form of the
/// arguments, from a response file by expanding it for the compiler.
#[test]
fn a_removed_option_leaves_every_form_of_the_arguments() {
    let expanded = args_of("-c -index-store-path /idx -I -index-store-path t.c");
    let mut a = analyse_call(&expanded, &expanded, None).unwrap();
    assert!(a.remove_separate_option("-index-store-path"));
    // The value of `-I` is not the option.
    let kept = ["-c", "-I", "-index-store-path", "t.c"];
    assert_eq!(a.compiler_args, kept);
    assert_eq!(a.read_args, kept);
    assert_eq!(a.preprocessor_args, ["-I", "-index-store-path", "t.c"]);
    assert_eq!(a.hash_args, ["-c"]);
    assert!(!a.remove_separate_option("-index-store-path"));
    let call = args_of("@a.rsp t.c");
    let expanded = args_of("-index-store-path /idx -c t.c");
    let mut a = analyse_call(&call, &expanded, None).unwrap();
    assert_eq!(a.compiler_args, call);
    assert!(a.remove_separate_option("-index-store-path"));
    assert_eq!(a.compiler_args, ["-c", "t.c"]);
}
