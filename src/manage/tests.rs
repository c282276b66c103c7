//! The option table against what is built from it and what documents it.

use super::cli::{command, planned, Kind, MANAGER_OPTIONS};
use super::generate::{self, markdown};
use super::modifiers::{Modifiers, OutputFormat};

const README: &str = include_str!("../../README.md");
const BEGIN: &str =
    "<!-- manager options: `objcache --generate markdown` writes this; a unit test checks it -->\n";
const END: &str = "<!-- end of manager options -->";

#[test]
fn readme_table_is_the_generated_one() {
    let start = README.find(BEGIN).expect("README lacks the options marker") + BEGIN.len();
    let end = start
        + README[start..]
            .find(END)
            .expect("README lacks the end marker");
    let expected = markdown();
    assert!(
        README[start..end] == expected,
        "README.md's manager options differ from the table; replace the block with \
         the output of `objcache --generate markdown`:\n{expected}"
    );
}

#[test]
fn help_lists_every_option_and_hides_the_hidden() {
    let help = command().render_help().to_string();
    for opt in MANAGER_OPTIONS {
        let long = format!("--{}", opt.long);
        let shown = help.lines().any(|l| {
            let l = l.trim_start();
            let l = match opt.short {
                Some(c) => l.strip_prefix(&format!("-{c}, ")).unwrap_or(""),
                None => l,
            };
            l.starts_with(&long) && l.contains(opt.help)
        });
        assert_eq!(shown, !opt.hidden, "{long} in -h:\n{help}");
    }
}

#[test]
fn man_page_and_completions_name_every_visible_option() {
    let text = |what| String::from_utf8(generate::render(what).unwrap()).unwrap();
    let man = text("man");
    let shells = [text("bash"), text("zsh"), text("fish")];
    for opt in MANAGER_OPTIONS {
        let roff = format!("\\-\\-{}", opt.long.replace('-', "\\-"));
        assert_eq!(
            man.contains(&roff),
            !opt.hidden,
            "{roff} in the man page:\n{man}"
        );
        for script in &shells {
            let named = script.contains(&format!("--{}", opt.long))
                || script.contains(&format!("-l {} ", opt.long));
            assert_eq!(named, !opt.hidden, "--{} in:\n{script}", opt.long);
        }
    }
}

#[test]
fn table_is_consistent() {
    command().debug_assert();
    for (i, a) in MANAGER_OPTIONS.iter().enumerate() {
        for b in &MANAGER_OPTIONS[i + 1..] {
            assert_ne!(a.long, b.long);
            assert!(a.short.is_none() || a.short != b.short, "-{:?}", a.short);
        }
        assert!(a.choices.is_empty() || a.value.is_some(), "--{}", a.long);
    }
    assert_eq!(
        MANAGER_OPTIONS
            .iter()
            .find(|o| o.long == "generate")
            .unwrap()
            .choices,
        generate::DOCUMENTS
    );
    for what in generate::DOCUMENTS {
        assert!(generate::render(what).is_ok(), "--generate {what}");
    }
}

/// The long names of the actions `args` runs, in order, with their values.
fn plan(args: &[&str]) -> Vec<(&'static str, String)> {
    let m = command()
        .try_get_matches_from(std::iter::once("objcache").chain(args.iter().copied()))
        .unwrap();
    planned(&m)
        .into_iter()
        .map(|s| {
            assert!(matches!(s.opt.kind, Kind::Action(_)));
            (s.opt.long, s.value)
        })
        .collect()
}

fn steps(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    list.iter().map(|(l, v)| (*l, v.to_string())).collect()
}

#[test]
fn actions_run_in_command_line_order() {
    assert_eq!(
        plan(&["-sz"]),
        steps(&[("show-stats", ""), ("zero-stats", "")])
    );
    assert_eq!(
        plan(&["-o", "a=1", "-p", "--set-config=b=2"]),
        steps(&[
            ("set-config", "a=1"),
            ("show-config", ""),
            ("set-config", "b=2")
        ])
    );
    assert_eq!(
        plan(&["-M10G", "-v", "--dir", "d", "-F", "3", "-M", "0"]),
        steps(&[("max-size", "10G"), ("max-files", "3"), ("max-size", "0")])
    );
    // Both eviction options are planned; the eviction itself runs once.
    assert_eq!(
        plan(&["--evict-namespace", "n", "-s", "--evict-older-than", "1d"]),
        steps(&[
            ("evict-namespace", "n"),
            ("show-stats", ""),
            ("evict-older-than", "1d")
        ])
    );
    assert_eq!(plan(&["--dry-run", "-v", "--config-path", "c"]), steps(&[]));
}

/// As in ccache, a flag runs each time it is given, where it stands.
#[test]
fn a_repeated_flag_runs_each_time() {
    let twice = steps(&[("show-stats", ""), ("zero-stats", ""), ("show-stats", "")]);
    assert_eq!(plan(&["-s", "-z", "-s"]), twice);
    assert_eq!(plan(&["-szs"]), twice);
    assert_eq!(
        plan(&["-x", "-X", "5", "--hash-file", "-", "-x"]),
        steps(&[
            ("show-compression", ""),
            ("recompress", "5"),
            ("hash-file", "-"),
            ("show-compression", "")
        ])
    );
}

fn mods(args: &[&str]) -> Modifiers {
    let m = command()
        .try_get_matches_from(std::iter::once("objcache").chain(args.iter().copied()))
        .unwrap();
    Modifiers::from_matches(&m)
}

#[test]
fn verbose_counts_its_occurrences() {
    let count = |args: &[&str]| mods(args).verbose;
    assert_eq!(count(&["-s"]), 0);
    assert_eq!(count(&["-sv"]), 1);
    assert_eq!(count(&["-svv"]), 2);
    assert_eq!(count(&["-v", "-s", "--verbose"]), 2);
    assert_eq!(count(&["-svvv"]), 2);
}

/// Every modifier writes a field; so do the eviction options, which one
/// eviction reads together.
#[test]
fn every_modifier_sets_its_field() {
    for opt in MANAGER_OPTIONS {
        let expected = matches!(opt.kind, Kind::Modifier) || opt.long.starts_with("evict-");
        assert_eq!(opt.set.is_some(), expected, "--{}", opt.long);
    }
}

#[test]
fn modifiers_take_their_last_value_wherever_they_stand() {
    let m = mods(&[
        "--format=json",
        "-s",
        "--trim-method",
        "mtime",
        "--format",
        "openmetrics",
        "--dry-run",
        "-d",
        "a",
        "--dir=b",
        "--evict-namespace",
        "x",
        "--evict-namespace=y",
    ]);
    assert_eq!(m.format, OutputFormat::OpenMetrics);
    assert_eq!(m.trim_method, crate::manage::trim::Method::Mtime);
    assert!(m.dry_run);
    assert_eq!(m.cache_dir.as_deref(), Some(std::path::Path::new("b")));
    assert_eq!(m.evict_namespace.as_deref(), Some("y"));
    assert_eq!(mods(&["-s"]), Modifiers::default());
}

/// A bad value is the error of the action that uses it, named by option.
#[test]
fn a_bad_modifier_value_waits_for_its_action() {
    let m = mods(&["-s", "--trim-max-size", "lots", "--recompress-threads=0"]);
    let max = m.trim_max_size.unwrap();
    assert_eq!(max.text, "lots");
    assert!(max.get().unwrap_err().starts_with("--trim-max-size: "));
    let threads = m.recompress_threads.unwrap().get().unwrap_err();
    assert_eq!(
        threads,
        "--recompress-threads: invalid number of threads \"0\""
    );
    let m = mods(&["--trim-max-size=3k", "--evict-older-than", "2d"]);
    assert_eq!(m.trim_max_size.unwrap().get(), Ok(3000));
    assert_eq!(m.evict_older_than.unwrap().get(), Ok(172_800));
}

/// `-V`'s `Features:` names a `SCHEME-storage` for exactly the remote
/// storage schemes objcache has a backend for, of those ccache names:
/// ccache 4.13 has no built-in `s3`, `https` or `rediss` and names none.
#[test]
fn features_are_the_remote_backends() {
    let supported = |url: &str| {
        let specs = crate::remote::parse(url).unwrap();
        match crate::remote::Remote::open(&specs[0]) {
            Err(e) => !e.contains("unsupported remote storage URL"),
            Ok(_) => true,
        }
    };
    for feature in generate::FEATURES {
        let scheme = feature.strip_suffix("-storage").unwrap();
        let url = match scheme {
            "file" => "file:///nonexistent/objcache-test".to_string(),
            "redis+unix" => "redis+unix:/nonexistent.sock".to_string(),
            "crsh" => "crsh:/nonexistent.sock".to_string(),
            _ => format!("{scheme}://127.0.0.1:1/x"),
        };
        assert!(supported(&url), "{feature}: {url}");
    }
    let url = "gha://127.0.0.1:1/x helper=/nonexistent";
    assert!(!supported(url), "{url} is supported: list it in FEATURES");
    for url in ["https://127.0.0.1:1/x", "rediss://127.0.0.1:1", "s3://b/x"] {
        assert!(supported(url), "{url}");
    }
}

/// The suffix -M's help names as the default is the one a size without a
/// suffix is read with.
#[test]
fn max_size_help_names_the_default_suffix() {
    let help = MANAGER_OPTIONS
        .iter()
        .find(|o| o.long == "max-size")
        .unwrap()
        .help;
    // The last word of its last clause: "…; no suffix: Gi".
    let suffix = help.rsplit([' ', ':']).next().unwrap();
    let parse = crate::config::size::parse_size;
    assert_eq!(parse("3"), parse(&format!("3{suffix}")), "{help}");
}
