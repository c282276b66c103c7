use super::*;

const GCC_D: &str = "out/foo.o: src/foo.c /ci/a/proj/include/a_rather_long_header_name.h \\\n /ci/a/proj/include/another_long_header.h /usr/include/stdio.h\n";

#[test]
fn same_place_is_verbatim_and_relocation_rewraps() {
    let targets = vec!["out/foo.o".to_string()];
    let stored = StoredDepfile::new(
        GCC_D.as_bytes().to_vec(),
        "/ci/a/proj",
        &targets,
        Family::Gcc,
    );
    assert_eq!(stored.style, Some(Style::Gcc));
    let stored = StoredDepfile::decode(&stored.encode()).unwrap();
    let ci = crate::paths::BaseDirs::one("/ci");
    let base = Some(&ci);
    assert_eq!(
        stored.render("/ci/a/proj", &targets, base).unwrap(),
        GCC_D.as_bytes()
    );
    let moved =
        String::from_utf8(stored.render("/ci/bbbbbbbb/proj", &targets, base).unwrap()).unwrap();
    assert!(moved.contains("/ci/bbbbbbbb/proj/include/another_long_header.h"));
    assert!(!moved.contains("/ci/a/"));
    assert!(moved.lines().all(|l| l.len() <= 75));
    let other = vec!["x2.o".to_string()];
    assert!(stored
        .render("/ci/a/proj", &other, base)
        .unwrap()
        .starts_with(b"x2.o: src/foo.c"));
}

#[test]
fn unknown_shapes_are_verbatim_only() {
    let targets = vec!["foo.o".to_string()];
    let odd = b"foo.o:   src/foo.c\n".to_vec();
    let stored = StoredDepfile::new(odd.clone(), "/ci/a", &targets, Family::Gcc);
    assert_eq!(stored.style, None);
    assert_eq!(stored.render("/ci/a", &targets, None).unwrap(), odd);
    assert!(stored.render("/ci/b", &targets, None).is_none());
}

/// Found by the fuzzer (tests/fuzz, depfile): a newline in the cwd ended
/// its line early, so the `.d` read back named another directory
/// ("" here, its rest taken as the targets) and could be served
/// verbatim to a call there.
#[test]
fn a_newline_in_the_cwd_or_a_target_survives_the_round_trip() {
    for (cwd, targets) in [
        ("\n", vec![String::new()]),
        ("/src/odd\ndir", vec!["a.o".to_string()]),
        ("/src", vec!["a\nb.o".to_string(), "c.o".to_string()]),
    ] {
        let body = b"a.o: a.c\n".to_vec();
        let stored = StoredDepfile::new(body.clone(), cwd, &targets, Family::Gcc);
        let back = StoredDepfile::decode(&stored.encode()).unwrap();
        assert_eq!(back, stored, "{cwd:?} {targets:?}");
        assert_eq!(back.render(cwd, &targets, None), Some(body));
    }
    // A `.d` stored before the fix reads as it did.
    let old = b"objcache-dep-2\n/src\na.o\nverbatim\na.o: a.c\n";
    let stored = StoredDepfile::decode(old).unwrap();
    assert_eq!(
        (stored.cwd.as_str(), stored.targets.as_str()),
        ("/src", "a.o")
    );
}

#[test]
fn phony_targets() {
    let gcc = "a.o: a.c a.h\na.h:\n";
    let clang = "a.o: a.c a.h\n\na.h:\n";
    let t = vec!["a.o".to_string()];
    assert_eq!(
        StoredDepfile::new(gcc.into(), "/x", &t, Family::Gcc).style,
        Some(Style::Gcc)
    );
    assert_eq!(
        StoredDepfile::new(clang.into(), "/x", &t, Family::Clang).style,
        Some(Style::Clang)
    );
}

/// One pass (`render_mapped`) gives what `render` then `map_back` gave.
#[test]
fn rendering_and_mapping_in_one_pass_equals_two() {
    let ci = crate::paths::BaseDirs::one("/ci");
    let t = |s: &str| vec![s.to_string()];
    let phony = "out/foo.o: src/foo.c include/h.h\ninclude/h.h:\n";
    let clang = "out/foo.o: src/foo.c include/h.h\n\ninclude/h.h:\n";
    let cases: [(&str, Family, Vec<String>); 4] = [
        (GCC_D, Family::Gcc, t("out/foo.o")),
        (phony, Family::Gcc, t("out/foo.o")),
        (clang, Family::Clang, t("out/foo.o")),
        ("out/foo.o:   src/foo.c\n", Family::Gcc, t("out/foo.o")),
    ];
    type Map<'a> = &'a dyn Fn(&str) -> Option<String>;
    let maps: [Map; 3] = [
        &|_| None,
        &|d| {
            d.strip_prefix("src/")
                .map(|r| format!("/ci/a/proj/src/{r}"))
        },
        &|d| (!d.starts_with('/')).then(|| format!("/abs dir/{d}")),
    ];
    for (body, family, targets) in &cases {
        let stored = StoredDepfile::new(body.as_bytes().to_vec(), "/ci/a/proj", targets, *family);
        for (cwd, targets) in [
            ("/ci/a/proj", targets.clone()),
            ("/ci/a/proj", t("other.o")),
            ("/ci/bbbbbbbbbbbbbbbb/proj", targets.clone()),
            ("/ci/b b/proj", targets.clone()),
        ] {
            for (m, map) in maps.iter().enumerate() {
                let two = stored
                    .render(cwd, &targets, Some(&ci))
                    .map(|b| map_back(&b, *family, map).unwrap_or(b));
                let one = stored.render_mapped(cwd, &targets, Some(&ci), *family, map);
                let show = |b: &Option<Vec<u8>>| {
                    b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())
                };
                assert_eq!(
                    show(&one),
                    show(&two),
                    "{body:?} in {cwd} for {targets:?}, map {m}"
                );
            }
        }
    }
}

/// `render_mapped` gives what `render` then `map_back` gave for generated
/// `.d` files with hostile names (spaces, `$`, `#`, `:`, `%`, backslashes,
/// tabs, CRs, long names), `-MT`/`-MQ`-style targets, several targets,
/// `-MP`, both styles, CRLF and odd spacing, in the same and other places,
/// with several mappings. Where they differ, the stored style is not the
/// compiler family's preferred one (a gcc whose `.d` only clang's
/// wrapping re-emits): the two steps took the preferred style again when
/// the re-rendered rule was short enough for both to re-emit it, so the
/// mapped file's wrapping depended on the names' lengths; one pass keeps
/// the style the compiler's own `.d` proved.
#[test]
fn rendering_and_mapping_in_one_pass_equals_two_on_generated_files() {
    let mut rnd = crate::test_rng(0x1234_5678_9abc_def1);
    let pieces = [
        "a",
        "src/",
        "/ci/a/proj/",
        "/ci/a/proj/inc/",
        "/usr/include/",
        "sp ace",
        "d$l",
        "h#sh",
        "c:o",
        "bs\\x",
        "long_header_name_that_goes_on_and_on_and_on_",
        ".h",
        "../",
        "%",
        "tab\t",
        "cr\r",
    ];
    let target_pieces = [
        "out/foo.o",
        "a$$b.o",
        "x\\ y.o",
        "t#.o",
        "c:d.o",
        "a_long_target.o",
    ];
    let ci = crate::paths::BaseDirs::one("/ci");
    let (mut compared, mut kept_style) = (0, 0);
    for _ in 0..20_000 {
        let names: Vec<String> = (0..1 + rnd(8))
            .map(|_| (0..1 + rnd(4)).map(|_| pieces[rnd(pieces.len())]).collect())
            .collect();
        let deps: Vec<String> = names.iter().filter_map(|d| make::escape(d)).collect();
        let targets: Vec<String> = (0..1 + rnd(3))
            .map(|_| target_pieces[rnd(target_pieces.len())].to_string())
            .collect();
        let style = [Style::Gcc, Style::Clang][rnd(2)];
        let mut body = emit(style, &targets, &deps, rnd(2) == 0);
        match rnd(10) {
            0 => body = body.replace('\n', "\r\n"),
            1 => body = body.replacen(": ", ":  ", 1),
            _ => {}
        }
        let family = [Family::Gcc, Family::Clang][rnd(2)];
        let stored = StoredDepfile::new(body.into_bytes(), "/ci/a/proj", &targets, family);
        let cwd = [
            "/ci/a/proj",
            "/ci/bbbbbbbbbbbbbbbbbbbbbb/proj",
            "/ci/b b/proj",
            "/else",
        ][rnd(4)];
        let call_targets = match rnd(3) {
            0 => vec!["o.o".to_string()],
            _ => targets.clone(),
        };
        let k = rnd(4);
        let map = move |d: &str| match k {
            0 => None,
            1 => d
                .strip_prefix("src/")
                .map(|r| format!("/ci/a/proj/src/{r}")),
            2 => (!d.starts_with('/')).then(|| format!("/abs dir/{d}")),
            _ => Some(format!("{d}{d}")),
        };
        let two = stored
            .render(cwd, &call_targets, Some(&ci))
            .map(|b| map_back(&b, family, map).unwrap_or(b));
        let one = stored.render_mapped(cwd, &call_targets, Some(&ci), family, map);
        let preferred = match family {
            Family::Gcc => Style::Gcc,
            Family::Clang => Style::Clang,
        };
        if stored.style.is_some_and(|s| s != preferred) {
            kept_style += usize::from(one != two);
            continue;
        }
        compared += 1;
        let show =
            |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
        assert_eq!(
            show(&one),
            show(&two),
            "{stored:?} in {cwd} for {call_targets:?}, map {k}"
        );
    }
    assert!(
        compared > 10_000 && kept_style > 0,
        "{compared} {kept_style}"
    );
}

/// gcc writes `-MT` targets first and moves `-MQ` ones among themselves
/// (`-MQ a -MQ b -MT c` gives `c b a`): the order is kept with the `.d`
/// and a hit for other targets puts its own in the same places.
#[test]
fn targets_in_the_compilers_order_are_rendered_in_it() {
    let targets: Vec<String> = ["a", "b", "c"].map(String::from).into();
    let body = b"c b a: t.c h.h\n".to_vec();
    let stored = StoredDepfile::new(body.clone(), "/src", &targets, Family::Gcc);
    assert_eq!(
        (stored.style, stored.order.as_slice()),
        (Some(Style::Gcc), &[2, 1, 0][..])
    );
    let encoded = stored.encode();
    assert!(encoded.starts_with(b"objcache-dep-2\n/src\na b c\ngcc 2,1,0\n"));
    let back = StoredDepfile::decode(&encoded).unwrap();
    assert_eq!(back, stored);
    assert_eq!(back.render("/src", &targets, None), Some(body));
    let other: Vec<String> = ["x", "y", "z"].map(String::from).into();
    assert_eq!(
        back.render("/src", &other, None).unwrap(),
        b"z y x: t.c h.h\n"
    );
    assert_eq!(back.render("/src", &other[..2], None), None);
    // In the call's order (clang), nothing is kept.
    let stored = StoredDepfile::new(b"a b c: t.c\n".to_vec(), "/src", &targets, Family::Clang);
    assert!(stored.order.is_empty());
    assert!(stored.encode().ends_with(b"\nclang\na b c: t.c\n"));
}

/// Where the order cannot be told, the `.d` is served only to the call
/// it was written for: two targets the same, or one of several that is
/// not a single word (`-MQ a -MT 'a a'` gives `a a a`).
#[test]
fn targets_of_unknown_order_are_verbatim_only() {
    for (targets, body) in [
        (&["a", "a"][..], "a a: t.c\n"),
        (&["a", "a a"], "a a a: t.c\n"),
        (&["a", "b"], "a c: t.c\n"),
        (&["a", "b"], "a: t.c\n"),
    ] {
        let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        let stored = StoredDepfile::new(body.as_bytes().to_vec(), "/src", &targets, Family::Gcc);
        assert_eq!(stored.style, None, "{targets:?}");
        assert_eq!(
            stored.render("/src", &targets, None).unwrap(),
            body.as_bytes()
        );
        let other = vec!["x".to_string(), "y".to_string()];
        assert_eq!(stored.render("/src", &other, None), None, "{targets:?}");
    }
    // An order that is not one of all the targets reads as no style.
    for line in ["gcc 0,0", "gcc 1", "gcc 0,1", "gcc x", "gcc "] {
        let bytes = format!("objcache-dep-2\n/src\na b\n{line}\nb a: t.c\n");
        let stored = StoredDepfile::decode(bytes.as_bytes()).unwrap();
        assert_eq!((stored.style, stored.order.len()), (None, 0), "{line}");
    }
}

mod reference;

/// A `.d` made of random pieces: what compilers write (both wrappings,
/// `-MP`), escapes (`\ `, `\#`, `$$`), names of kilobytes, and damage
/// (CRLF, a lone `$`, tabs, a continuation without its space, phony
/// targets out of order, twice or unknown, bytes that are not UTF-8, a
/// body cut anywhere).
fn generated_body(rnd: &mut impl FnMut(usize) -> usize) -> (Vec<u8>, Vec<String>) {
    let pieces = [
        "a",
        "src/",
        "/ci/a/proj/",
        "/usr/include/",
        "sp\\ ace",
        "d$$l",
        "h\\#sh",
        "c:o",
        "%",
        "../",
        ".h",
    ];
    let long = "n".repeat(5000);
    let names: Vec<String> = (0..rnd(12))
        .map(|_| match rnd(30) {
            0 if rnd(4) == 0 => long.clone(),
            _ => (0..1 + rnd(4)).map(|_| pieces[rnd(pieces.len())]).collect(),
        })
        .collect();
    let targets: Vec<String> = (0..1 + rnd(2))
        .map(|i| ["out/foo.o", "x.o", "a$$b.o"][(i + rnd(3)) % 3].to_string())
        .collect();
    let mut body = emit(
        [Style::Gcc, Style::Clang][rnd(2)],
        &targets,
        &names,
        rnd(3) == 0,
    );
    let mut phony: Vec<&String> = names.iter().collect();
    match rnd(12) {
        0 => body = body.replace('\n', "\r\n"),
        1 => body = body.replacen(" \\\n", "\\\n", 1),
        2 => body = body.replacen("$$", "$", 1),
        3 => body = body.replacen(' ', "\t", 1),
        4 => body.push_str("\n\n"),
        5 => phony.reverse(),
        6 => phony.push(&targets[0]),
        7 => phony.truncate(phony.len() / 2),
        8 => body = body.replacen(": ", ":\n", 1),
        _ => {}
    }
    if rnd(4) == 0 {
        for name in phony.iter().skip(rnd(2)) {
            body.push_str(if rnd(2) == 0 { "\n" } else { "" });
            body.push_str(name);
            body.push_str(":\n");
        }
    }
    let mut bytes = body.into_bytes();
    match rnd(12) {
        0 if !bytes.is_empty() => {
            let at = rnd(bytes.len());
            bytes[at] = 0xff;
        }
        1 => bytes.truncate(rnd(bytes.len() + 1)),
        _ => {}
    }
    (bytes, targets)
}

/// The faster reading and rendering give exactly what the code before
/// them gave: the names read, every `.d` rendered in the same and other
/// places for the same and other targets, and the mapped ones.
#[test]
fn rendering_is_byte_for_byte_what_it_was() {
    let mut rnd = crate::test_rng(0x9e37_79b9_7f4a_7c15);
    let ci = crate::paths::BaseDirs::one("/ci");
    let mut parsed = 0;
    for _ in 0..10_000 {
        let (body, targets) = generated_body(&mut rnd);
        let new = parse(&body).map(|r| (r.targets, r.deps, r.phony));
        let old = reference::parse(&body).map(|r| (r.targets, r.deps, r.phony));
        assert_eq!(new, old, "{:?}", String::from_utf8_lossy(&body));
        parsed += usize::from(new.is_some());
        let family = [Family::Gcc, Family::Clang][rnd(2)];
        let stored = StoredDepfile::new(body.clone(), "/ci/a/proj", &targets, family);
        let cwd = [
            "/ci/a/proj",
            "/ci/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/p",
            "/ci/b b/q",
        ][rnd(3)];
        let call_targets = match rnd(3) {
            0 => vec!["o.o".to_string()],
            _ => targets.clone(),
        };
        let k = rnd(4);
        let map = move |d: &str| match k {
            0 => None,
            1 => d
                .strip_prefix("src/")
                .map(|r| format!("/ci/a/proj/src/{r}")),
            2 => (!d.starts_with('/')).then(|| format!("/abs dir/{d}")),
            _ => Some(format!("{d}{d}")),
        };
        let at = format!("{body:?} in {cwd} for {call_targets:?}, map {k}");
        assert_eq!(
            stored.render(cwd, &call_targets, Some(&ci)),
            reference::render(&stored, cwd, &call_targets, Some(&ci)),
            "{at}"
        );
        assert_eq!(
            stored.render_mapped(cwd, &call_targets, Some(&ci), family, map),
            reference::render_mapped(&stored, cwd, &call_targets, Some(&ci), family, map),
            "{at}"
        );
        assert_eq!(
            map_back(&body, family, map),
            reference::map_back(&body, family, map),
            "{at}"
        );
    }
    assert!(parsed > 2_500, "{parsed}");
}

#[test]
fn escaping_a_name_in_place_is_escaping_a_copy() {
    let long = format!("{}$ #{}", "x".repeat(4000), "y".repeat(17));
    for name in [
        "",
        "a.h",
        "sp ace.h",
        "d$l.h",
        "h#sh",
        "bs\\h",
        "tab\th",
        "cr\rh",
        "nl\nh",
        "é ü.h",
        &long,
        "exactly_sixteen_",
        "exactly_sixteen ",
    ] {
        assert_eq!(
            make::escape_owned(name.to_string()),
            make::escape(name),
            "{name:?}"
        );
        assert_eq!(make::escape(name), reference::escape(name), "{name:?}");
    }
}
