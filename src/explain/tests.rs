use super::*;

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(l, v)| (l.to_string(), v.to_string()))
        .collect()
}

fn ctx() -> Context<'static> {
    Context {
        base_dir: None,
        compiler_check: "content",
        time_macro: None,
        direct_miss: None,
    }
}

#[test]
fn names_what_differs_most_decisive_first() {
    let old = fields(&[
        ("arg", "-O2"),
        ("arg", "-I/b/123/include"),
        ("source", "#1"),
    ]);
    let new = fields(&[
        ("arg", "-O2"),
        ("arg", "-I/b/124/include"),
        ("source", "#2"),
    ]);
    let e = explain(&old, &new, &ctx());
    assert_eq!(e.reason, Reason::Args);
    assert_eq!(
        e.text,
        "argument -I/b/124/include differs (was -I/b/123/include): it is an absolute \
         path and base_dir is not set (set base_dir to a directory above your \
         checkouts); source changed"
    );
}

#[test]
fn absolute_paths_outside_base_dir_are_counted_with_the_advice_once() {
    let base = crate::paths::BaseDirs::parse("/ws").unwrap().unwrap();
    let mut c = ctx();
    c.base_dir = Some(&base);
    let old = fields(&[
        ("arg", "-I/gen/1/a"),
        ("arg", "-I/gen/1/b"),
        ("arg", "-DX=1"),
        ("input", "/gen/1/t.c"),
    ]);
    let new = fields(&[
        ("arg", "-I/gen/2/a"),
        ("arg", "-I/gen/2/b"),
        ("arg", "-DX=2"),
        ("input", "/gen/2/t.c"),
    ]);
    let e = explain(&old, &new, &c);
    assert_eq!(e.reason, Reason::Args);
    assert_eq!(
        e.text,
        "argument -I/gen/2/a differs (was -I/gen/1/a), and so do 2 more absolute paths in \
         the command: they are absolute paths outside base_dir; argument -DX=2 differs \
         (was -DX=1)"
    );
}

#[test]
fn same_inputs_mean_the_entry_is_gone() {
    let f = fields(&[("arg", "-O2"), ("common", "#x")]);
    assert_eq!(explain(&f, &f, &ctx()).reason, Reason::Evicted);
}

#[test]
fn only_the_preprocessed_text_points_at_time_macros_or_headers() {
    let old = fields(&[("preprocessed", "#1")]);
    let new = fields(&[("preprocessed", "#2")]);
    let mut c = ctx();
    c.time_macro = Some("__DATE__");
    let e = explain(&old, &new, &c);
    assert_eq!(e.reason, Reason::TimeMacro);
    assert!(e.text.starts_with("the source uses __DATE__"), "{}", e.text);
    c.direct_miss = Some("inc/foo.h changed (content)");
    assert_eq!(explain(&old, &new, &c).reason, Reason::Include);
}

#[test]
fn headers_by_path_and_paths_in_arguments() {
    let old = fields(&[("header", "inc/a.h\t#1"), ("header", "inc/b.h\t#1")]);
    let new = fields(&[("header", "inc/a.h\t#2"), ("header", "inc/c.h\t#1")]);
    let e = explain(&old, &new, &ctx());
    assert_eq!(
        e.text,
        "header inc/a.h changed; header inc/c.h is newly included; header inc/b.h is \
         no longer included"
    );
    // The same header from another directory: named once, counted.
    let old = fields(&[("header", "/a/i/x.h\t#1"), ("header", "/a/j/y.h\t#2")]);
    let new = fields(&[("header", "/b/i/x.h\t#1"), ("header", "/b/j/y.h\t#2")]);
    assert_eq!(
        explain(&old, &new, &ctx()).text,
        "header /b/i/x.h is included from another path (was /a/i/x.h), and so is 1 more"
    );
    assert_eq!(absolute_path_in("-I/x/y"), Some("/x/y"));
    assert_eq!(absolute_path_in("-fprofile-use=/p"), Some("/p"));
    assert_eq!(absolute_path_in("-DX=1"), None);
    assert_eq!(absolute_path_in("-DPATH=a/b"), None);
}

#[test]
fn colour_capture_and_recorded_command_lines_are_arguments() {
    let old = fields(&[("arg", "-O2"), ("diagnostics", "plain")]);
    let new = fields(&[("arg", "-O2"), ("diagnostics", "coloured")]);
    let e = explain(&old, &new, &ctx());
    assert_eq!(e.reason, Reason::Args);
    assert!(e
        .text
        .starts_with("the diagnostics are captured coloured (last time plain)"));
    // The same arguments in another order.
    let old = fields(&[("recorded-arg", "-DA"), ("recorded-arg", "-c")]);
    let new = fields(&[("recorded-arg", "-c"), ("recorded-arg", "-DA")]);
    let e = explain(&old, &new, &ctx());
    assert_eq!(e.reason, Reason::Args);
    assert!(e.text.contains("the object records it"), "{}", e.text);
}

#[test]
fn an_unusable_result_is_not_an_evicted_one() {
    let e = unusable("the stored diagnostics have no colours");
    assert_eq!(e.reason, Reason::Unusable);
    assert_eq!(e.reason.counter(), Counter::MissReasonUnusable);
    assert!(!e.text.contains("evicted"));
}
