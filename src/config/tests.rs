use super::*;

fn load(files: &[(&str, &str)], env: &[(&str, &str)]) -> (Config, Vec<ConfigError>, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    let path = dir.path().join("ccache.conf");
    let dir_s = dir.path().display().to_string();
    let mut env_map: HashMap<&str, &str> = env.iter().copied().collect();
    env_map.insert("CCACHE_DIR", &dir_s);
    // The search for a directory's ccache.conf starts in the temporary
    // directory, not in whatever directory the tests run in.
    let locations = Locations {
        work_dir: Some(dir.path().to_path_buf()),
        ..Locations::default()
    };
    let (c, e) = Config::load_from(&locations, &env_map);
    std::mem::forget(dir);
    (c, e, path)
}

#[test]
fn file_then_environment_precedence() {
    let (c, e, path) = load(
        &[(
            "ccache.conf",
            "# comment\nmax_size = 10G\nhash_dir = false\n",
        )],
        &[("CCACHE_MAXSIZE", "2G")],
    );
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(c.max_size, 2_000_000_000);
    assert_eq!(c.origin_of("max_size"), &Origin::Environment);
    assert!(!c.hash_dir);
    assert_eq!(c.origin_of("hash_dir"), &Origin::File(path));
}

#[test]
fn values_reach_their_fields() {
    let (c, e, _) = load(
        &[(
            "ccache.conf",
            "max_size = 20%\nmax_age = 2d\numask = 027\nsloppiness = locale, b time_macros\n\
             extra_files_to_hash = x: y::\nsecondary_storage = http://h/c\n",
        )],
        &[("CCACHE_CC", "gcc"), ("CCACHE_LIMIT_MULTIPLE", "0.5")],
    );
    assert!(e.is_empty(), "{e:?}");
    assert_eq!((c.max_size, c.max_size_percent), (0, Some(20.0)));
    assert_eq!(c.max_age_secs, Some(172_800));
    assert_eq!(c.umask, Some(0o27));
    assert_eq!(
        c.sloppiness,
        SloppinessSet::default()
            .with(Sloppiness::Locale)
            .with(Sloppiness::TimeMacros)
    );
    assert_eq!(
        c.get("sloppiness").as_deref(),
        Some("locale, b time_macros")
    );
    assert_eq!(c.extra_files_to_hash, ["x", "y"]);
    assert_eq!(c.remote_storage, "http://h/c");
    assert_eq!(c.compiler, "gcc");
    assert_eq!(c.limit_multiple, 0.5);
    assert_eq!(c.get("max_size").as_deref(), Some("20%"));
    assert!(validate("max_size", "3000M").is_ok());
    assert!(validate("umask", "9").is_err());
    assert!(validate("nonsense", "1").is_err());
}

#[test]
fn negated_booleans_and_errors() {
    let (c, e, _) = load(&[], &[("CCACHE_NOHASHDIR", "1"), ("CCACHE_DISABLE", "")]);
    assert!(e.is_empty());
    assert!(!c.hash_dir);
    assert!(c.disable);
    let (_, e, _) = load(&[], &[("CCACHE_READONLY", "false")]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].key, "CCACHE_READONLY");
}

/// Found by the fuzzer (tests/fuzz, config_lines): a line without `=`
/// (a remote_storage value continued on the next line) was quoted in
/// the error with its URL's password.
#[test]
fn a_bad_line_never_quotes_a_password() {
    let (_, e, _) = load(
        &[(
            "ccache.conf",
            "remote_storage = http://h/c\nredis://:Sekr1t~Pw@cache:6379\0\n",
        )],
        &[],
    );
    assert_eq!(e.len(), 1, "{e:?}");
    let shown = e[0].to_string();
    assert!(!shown.contains("Sekr1t"), "{shown}");
    assert!(shown.contains("ccache.conf:2: expected"), "{shown}");
}

/// A value continued without indentation: its second line is a line of
/// its own, and any word of it (here the first) may be the secret.
#[test]
fn a_bad_line_shows_none_of_its_words() {
    let conf = "remote_storage = http://h/c|header=Authorization=Bearer\nSekr1t~Pw rest\n";
    let (_, e, _) = load(&[("ccache.conf", conf)], &[]);
    assert_eq!(e.len(), 1, "{e:?}");
    let shown = e[0].to_string();
    assert!(
        !shown.contains("Sekr1t") && !shown.contains("rest"),
        "{shown}"
    );
}

/// `$word` in a password is a variable that is not set: its name is part
/// of the password, so the error does not name it (for other keys it does).
#[test]
fn an_unset_variable_in_a_secret_value_is_not_named() {
    let conf = "remote_storage = redis://:pa$Sekr1t@h\n";
    let (_, e, _) = load(&[("ccache.conf", conf)], &[]);
    let shown = e[0].to_string();
    assert!(!shown.contains("Sekr1t"), "{shown}");
    let (_, e, _) = load(&[], &[("CCACHE_REMOTE_STORAGE", "redis://:pa$Sekr1t@h")]);
    assert!(!e[0].to_string().contains("Sekr1t"), "{}", e[0]);
    let e = crate::config::validate("remote_storage", "redis://:pa${Sekr1t}@h").unwrap_err();
    assert!(!e.contains("Sekr1t"), "{e}");
    let e = crate::config::validate("log_file", "/tmp/$OBJCACHE_UNSET_X").unwrap_err();
    assert!(e.contains("OBJCACHE_UNSET_X"), "{e}");
}

#[test]
fn a_setting_is_shown_masked() {
    use crate::config::shown_setting;
    let s = shown_setting("remote_storage", "http://u:Sekr1t@h:x/c|bearer-token=t0k");
    assert_eq!(
        s,
        "remote_storage=http://u:********@h:x/c|bearer-token=********"
    );
    assert_eq!(
        shown_setting("remote_storge", "http://u:Sekr1t@h"),
        "remote_storge=…"
    );
    assert_eq!(shown_setting("max_size", "10X"), "max_size=10X");
}

#[test]
fn bad_lines_are_located() {
    let (c, e, path) = load(
        &[(
            "ccache.conf",
            "max_size = 1G\nmax_size = banana\nno equals\nfoo = 1\n",
        )],
        &[],
    );
    assert_eq!(
        c.max_size, 1_000_000_000,
        "bad line must not clobber the good one"
    );
    // An unknown key (line 4) is ignored, as ccache does.
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].line, e[0].key.as_str()), (2, "max_size"));
    assert_eq!(e[1].line, 3);
    assert!(e[0]
        .to_string()
        .starts_with(&format!("{}:2: max_size", path.display())));
}

#[test]
fn variables_are_expanded_as_in_ccache() {
    let env = |name: &str| match name {
        "HOME" => Some("/home/me".to_string()),
        "V" => Some("x y".to_string()),
        _ => None,
    };
    let x = |v: &str| expand_variables(v, &env);
    assert_eq!(x("$HOME/c").unwrap(), "/home/me/c");
    assert_eq!(x("${HOME}c").unwrap(), "/home/mec");
    assert_eq!(x("a$$b$$$V").unwrap(), "a$b$x y");
    assert_eq!(x("50$ 1$/").unwrap(), "50$ 1$/");
    assert_eq!(x("plain").unwrap(), "plain");
    assert!(x("$UNSET_X").unwrap_err().contains("\"UNSET_X\" not set"));
    assert!(x("${HOME").unwrap_err().contains("missing '}'"));
}

#[test]
fn values_in_files_and_variables_are_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().display().to_string();
    fs::write(
        dir.path().join("ccache.conf"),
        "log_file = $CCACHE_DIR/log\nnamespace = ${CCACHE_DIR}$$x\nmax_files = $NOPE\n",
    )
    .unwrap();
    let env: HashMap<&str, &str> = [
        ("CCACHE_DIR", dir_s.as_str()),
        ("CCACHE_PREFIX", "$CCACHE_DIR/d"),
    ]
    .into();
    let (c, e) = Config::load_from(&Locations::default(), &env);
    assert_eq!(c.log_file, Some(dir.path().join("log")));
    assert_eq!(c.namespace, format!("{dir_s}$x"));
    assert_eq!(c.prefix_command, format!("{dir_s}/d"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].line, e[0].key.as_str()), (3, "max_files"));
    assert!(e[0].message.contains("\"NOPE\" not set"), "{e:?}");
}

#[test]
fn indented_lines_continue_a_value() {
    let (c, e, _) = load(
        &[(
            "ccache.conf",
            "sloppiness =\n  time_macros\n  # a comment inside\n\n\tlocale\n# ends it\n\
             max_files = 7\nnamespace = a\n b\n",
        )],
        &[],
    );
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(
        c.sloppiness,
        SloppinessSet::default()
            .with(Sloppiness::TimeMacros)
            .with(Sloppiness::Locale)
    );
    assert_eq!(c.max_files, 7);
    assert_eq!(c.namespace, "a b");
    let lines = logical_lines("a = 1\n  2\nb = 3\n");
    assert_eq!(
        lines,
        [(1, "a = 1 2".to_string()), (3, "b = 3".to_string())]
    );
    // Nothing to continue: reported as the line it is.
    let lines = logical_lines("  x = 1\n");
    assert_eq!(lines, [(1, "x = 1".to_string())]);
}

/// `-o` replaces a value written over several lines whole: its
/// continuation lines would otherwise continue the new value.
#[test]
fn writing_a_key_drops_its_continuation_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ccache.conf");
    fs::write(
        &path,
        "sloppiness =\n  time_macros\n\n  locale\nmax_files = 3\n  # kept\nnamespace = a\n",
    )
    .unwrap();
    write_setting(&path, "sloppiness", "pch_defines").unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "sloppiness = pch_defines\n\nmax_files = 3\n  # kept\nnamespace = a\n"
    );
    let mut c = Config::defaults();
    let mut errors = Vec::new();
    c.parse_text(&text, &path, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        c.sloppiness,
        SloppinessSet::default().with(Sloppiness::PchDefines)
    );
    assert_eq!(c.max_files, 3);
}

/// A size limit under 1 KiB keeps nothing; it never turns into 0, which
/// means no limit. The same from `-M`, the config file and the variable.
#[test]
fn a_tiny_size_limit_is_not_no_limit() {
    for (files, env) in [
        (&[("ccache.conf", "max_size = 1k\n")][..], &[][..]),
        (&[][..], &[("CCACHE_MAXSIZE", "1k")][..]),
        (&[][..], &[("CCACHE_MAXSIZE", "0.5KiB")][..]),
    ] {
        let (c, e, _) = load(files, env);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(c.max_size_kib(), 1, "{files:?} {env:?}");
    }
    for (size, kib) in [("0", 0), ("1", 1 << 20), ("200k", 195), ("2KiB", 2)] {
        let (c, _, _) = load(&[], &[("CCACHE_MAXSIZE", size)]);
        assert_eq!(c.max_size_kib(), kib, "{size}");
    }
}

/// A directory's ccache.conf is read over the cache's and under the
/// environment; the keys that decide the search and its trust are taken
/// from the environment and the command line before it.
#[test]
fn a_directory_config_sits_between_the_cache_config_and_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(tmp.path()).unwrap();
    let cache = root.join("cache");
    let work = root.join("proj/build");
    fs::create_dir_all(&cache).unwrap();
    fs::create_dir_all(&work).unwrap();
    fs::write(cache.join("ccache.conf"), "max_files = 1\nnamespace = c\n").unwrap();
    let dir_conf = root.join("proj/ccache.conf");
    fs::write(
        &dir_conf,
        "max_files = 2\nnamespace = d\nprefix_command = distcc\n",
    )
    .unwrap();
    let cache_s = cache.display().to_string();
    let root_s = root.display().to_string();
    let load = |env: &[(&str, &str)], command_line: &[(&str, &str)]| {
        let mut map: HashMap<&str, &str> = env.iter().copied().collect();
        map.insert("CCACHE_DIR", &cache_s);
        map.insert("CCACHE_CEILING_DIRS", &root_s);
        let locations = Locations {
            work_dir: Some(work.clone()),
            command_line: command_line
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Locations::default()
        };
        Config::load_from(&locations, &map)
    };
    let (c, e) = load(&[("CCACHE_NAMESPACE", "e")], &[]);
    assert!(e.is_empty(), "{e:?}");
    assert_eq!((c.max_files, c.namespace.as_str()), (2, "e"));
    assert_eq!(c.origin_of("max_files"), &Origin::File(dir_conf.clone()));
    assert_eq!(c.directory_config_path.as_ref(), Some(&dir_conf));
    assert_eq!(c.prefix_command, "", "not a safe directory");
    assert_eq!(c.refused.len(), 1);
    assert!(c.refused_warning().unwrap().contains("safe_dirs"));
    let proj = root.join("proj").display().to_string();
    let via_variable = "$CCACHE_DIR/../proj";
    for (env, command_line) in [
        (vec![("CCACHE_SAFE_DIRS", proj.as_str())], vec![]),
        (vec![("CCACHE_SAFE_DIRS", via_variable)], vec![]),
        (vec![], vec![("safe_dirs", proj.as_str())]),
    ] {
        let (c, e) = load(&env, &command_line);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(c.prefix_command, "distcc");
    }
    // CCACHE_CONFIGPATH: the one file read.
    let only = cache.join("ccache.conf").display().to_string();
    let (c, _) = load(&[("CCACHE_CONFIGPATH", &only)], &[]);
    assert_eq!(c.max_files, 1);
    assert_eq!(c.directory_config_path, None);
    // A marker in the build directory ends the search there.
    let (c, _) = load(&[("CCACHE_CEILING_MARKERS", "build.ninja:.git")], &[]);
    assert_eq!(c.max_files, 2);
    fs::write(work.join("build.ninja"), "").unwrap();
    let (c, _) = load(&[("CCACHE_CEILING_MARKERS", "build.ninja:.git")], &[]);
    assert_eq!(c.max_files, 1);
}

/// What `-p` shows for the defaults (borrowed from the key table) and
/// for the same texts set from a file or a variable (copied) is one
/// text: as given, canonical, or a size normalised.
#[test]
fn defaults_and_set_values_are_shown_alike() {
    let (c, e, _) = load(&[], &[]);
    assert!(e.is_empty(), "{e:?}");
    for (key, shown) in [
        ("ceiling_markers", ".git"),
        ("compression", "true"),
        ("debug_level", "2"),
        ("max_size", "5.0GiB"),
        ("limit_multiple", "0.9"),
        (
            "libexec_dirs",
            "/usr/local/libexec/ccache:/usr/libexec/ccache",
        ),
        ("umask", ""),
    ] {
        assert_eq!(c.get(key).as_deref(), Some(shown), "{key}");
    }
    let file = "debug_level = 02\nmax_size = 3000M\nlimit_multiple = 0.90\nmax_files = +7\n\
                compression = false\nceiling_markers = .git:x\nbase_dir = /a:/b\n";
    let env = [("CCACHE_MAXSIZE", " 20%"), ("CCACHE_NOHASHDIR", "1")];
    let (c, e, _) = load(&[("ccache.conf", file)], &env);
    assert!(e.is_empty(), "{e:?}");
    for (key, shown) in [
        ("debug_level", "2"),
        ("max_size", "20%"),
        ("limit_multiple", "0.90"),
        ("max_files", "7"),
        ("compression", "false"),
        ("hash_dir", "false"),
        ("ceiling_markers", ".git:x"),
        ("base_dir", "/a:/b"),
    ] {
        assert_eq!(c.get(key).as_deref(), Some(shown), "{key}");
    }
    let (c, _, _) = load(&[("ccache.conf", "max_size = 3000M\n")], &[]);
    assert_eq!(c.get("max_size").as_deref(), Some("3.0G"));
}
