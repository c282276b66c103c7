//! Why did it miss? Compares the key fields of a missed compile with those
//! of the last compile of the same output (see `store::inputs`) and names
//! what differs in plain language, with the setting that would fix it.
//!
//! Fields are `(label, value)` pairs as `key::KeyHasher` records them. The
//! labels say what a value is (`arg`, `cwd`, `compiler-mtime`, `source`,
//! `header`, an environment variable's name …); repeated labels (`arg`,
//! `header`) are compared as collections, the others one to one.

use std::collections::BTreeMap;

use crate::paths::BaseDirs;
use crate::stats::Counter;

/// What kind of difference made a miss, most decisive first: the first
/// one found is the miss's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Compiler,
    Config,
    Environment,
    Args,
    Cwd,
    Source,
    Include,
    TimeMacro,
    Preprocessed,
    /// The inputs are the same as last time: the entry is gone.
    Evicted,
    /// No earlier compile of this output is on record.
    NewOutput,
}

impl Reason {
    pub fn counter(self) -> Counter {
        match self {
            Reason::Compiler => Counter::MissReasonCompiler,
            Reason::Config => Counter::MissReasonConfig,
            Reason::Environment => Counter::MissReasonEnvironment,
            Reason::Args => Counter::MissReasonArgs,
            Reason::Cwd => Counter::MissReasonCwd,
            Reason::Source => Counter::MissReasonSource,
            Reason::Include => Counter::MissReasonInclude,
            Reason::TimeMacro => Counter::MissReasonTimeMacro,
            Reason::Preprocessed => Counter::MissReasonPreprocessed,
            Reason::Evicted => Counter::MissReasonEvicted,
            Reason::NewOutput => Counter::MissReasonNewOutput,
        }
    }
}

/// What the explanation needs to know about the call besides its fields.
pub struct Context<'a> {
    pub base_dir: Option<&'a BaseDirs>,
    pub compiler_check: &'a str,
    /// The time macro the source uses, if any (`__DATE__` …).
    pub time_macro: Option<&'static str>,
    /// Why direct mode found no match in a manifest of the same key (the
    /// first recorded header that changed), if it got that far.
    pub direct_miss: Option<&'a str>,
}

#[derive(Debug, PartialEq)]
pub struct Explanation {
    pub reason: Reason,
    /// One sentence per finding, the reason's first, joined by `; `.
    pub text: String,
}

/// Labels whose values only stand for other fields (or the key format).
const DERIVED: &[&str] = &["format", "kind", "common", "manifest", "include", "digest"];

pub fn explain(old: &[(String, String)], new: &[(String, String)], ctx: &Context) -> Explanation {
    let old = by_label(old);
    let new = by_label(new);
    let mut findings: Vec<(Reason, String)> = Vec::new();
    let labels: std::collections::BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    for label in labels {
        if DERIVED.contains(&label) {
            continue;
        }
        let empty = Vec::new();
        let (was, now) = (
            old.get(label).unwrap_or(&empty),
            new.get(label).unwrap_or(&empty),
        );
        if was != now {
            findings.extend(describe(label, was, now, ctx));
        }
    }
    if findings.iter().all(|(r, _)| *r == Reason::Preprocessed) {
        // Only the preprocessed text differs: say what could have done it.
        if let Some(why) = ctx.direct_miss {
            findings.insert(0, (Reason::Include, format!("header {why}")));
        } else if let Some(mac) = ctx.time_macro {
            findings.insert(
                0,
                (
                    Reason::TimeMacro,
                    format!(
                        "the source uses {mac}, so its preprocessed text changes with the \
                         time: avoid it, or set SOURCE_DATE_EPOCH to a fixed time"
                    ),
                ),
            );
        }
    }
    if findings.iter().any(|(r, _)| *r != Reason::Preprocessed) {
        // What changed the preprocessed text is named; that it changed is no news.
        findings.retain(|(r, _)| *r != Reason::Preprocessed);
    }
    findings.sort_by_key(|(r, _)| *r);
    match findings.first() {
        None => Explanation {
            reason: Reason::Evicted,
            text: "nothing differs from the last compile of this output: its entry was \
                   evicted or removed (see max_size, max_files, max_age)"
                .into(),
        },
        Some(&(reason, _)) => {
            let shown: Vec<&str> = findings.iter().take(6).map(|(_, t)| t.as_str()).collect();
            let mut text = shown.join("; ");
            if findings.len() > shown.len() {
                text.push_str(&format!("; and {} more", findings.len() - shown.len()));
            }
            Explanation { reason, text }
        }
    }
}

/// The explanation when no earlier compile of the output is on record.
pub fn new_output(output: &str) -> Explanation {
    Explanation {
        reason: Reason::NewOutput,
        text: format!("first compile of {output} that this cache has a record of"),
    }
}

fn by_label(fields: &[(String, String)]) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (label, value) in fields {
        map.entry(label.as_str()).or_default().push(value.as_str());
    }
    map
}

/// The values only `a` has (as many times as it has them more than `b`).
fn only_in<'a>(a: &[&'a str], b: &[&str]) -> Vec<&'a str> {
    let mut rest: Vec<&str> = b.to_vec();
    let mut out = Vec::new();
    for v in a {
        match rest.iter().position(|r| r == v) {
            Some(i) => {
                rest.swap_remove(i);
            }
            None => out.push(*v),
        }
    }
    out
}

fn one<'a>(values: &[&'a str]) -> &'a str {
    values.first().copied().unwrap_or("(none)")
}

fn describe(label: &str, was: &[&str], now: &[&str], ctx: &Context) -> Vec<(Reason, String)> {
    let pair = || format!("{} vs {}", one(now), one(was));
    match label {
        "arg" | "cpp-arg" | "language" | "input" => describe_args(label, was, now, ctx),
        "cwd" => vec![(
            Reason::Cwd,
            format!(
                "cwd differs ({}) and the compile uses -g: set hash_dir = false or map it \
                 with -fdebug-prefix-map=OLD=NEW",
                pair()
            ),
        )],
        "profile-cwd" => vec![(
            Reason::Cwd,
            format!(
                "cwd differs ({}) and the compile writes coverage or profile data, whose \
                 paths the object records: sloppiness = gcno_cwd (coverage only) or one \
                 build directory",
                pair()
            ),
        )],
        "compiler-mtime" => {
            let hint = if ctx.compiler_check == "mtime" {
                " (compiler_check = mtime): consider compiler_check = content"
            } else {
                ""
            };
            vec![(
                Reason::Compiler,
                format!("compiler mtime or size changed{hint}"),
            )]
        }
        "compiler-content" => vec![(Reason::Compiler, "the compiler binary changed".into())],
        "compiler-name" => vec![(Reason::Compiler, format!("compiler differs ({})", pair()))],
        "compiler-string" | "compiler-check-stdout" | "compiler-check-stderr" => vec![(
            Reason::Compiler,
            format!(
                "the compiler's identity (compiler_check) differs ({})",
                pair()
            ),
        )],
        "namespace" | "sloppiness" | "ignored-headers" => vec![(
            Reason::Config,
            format!("configuration {label} differs ({})", pair()),
        )],
        "source" => vec![(Reason::Source, "source changed".into())],
        "header" => describe_headers(was, now),
        "extra-file" | "profile-data" | "pch" | "pch-sum" | "pch-input-stamp" => vec![(
            Reason::Include,
            format!("a file named by an option or extra_files_to_hash changed ({label})"),
        )],
        "preprocessed" => vec![(
            Reason::Preprocessed,
            "the preprocessed text differs (a header, a macro or a path in it)".into(),
        )],
        "cpu" => vec![(
            Reason::Environment,
            format!(
                "this machine's CPU differs ({}) and the compile uses =native",
                pair()
            ),
        )],
        var if var.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
            let hint = if var.starts_with("LANG") || var.starts_with("LC_") {
                ": sloppiness = locale ignores it"
            } else {
                ""
            };
            vec![(
                Reason::Environment,
                format!("environment variable {var} differs ({}){hint}", pair()),
            )]
        }
        other => vec![(Reason::Config, format!("{other} differs ({})", pair()))],
    }
}

/// An absolute path in an argument (`-I/x`, `/x`, `-fprofile-use=/x`).
fn absolute_path_in(arg: &str) -> Option<&str> {
    if arg.starts_with('/') {
        return Some(arg);
    }
    let at = arg.find("=/").map(|i| i + 1).or_else(|| {
        // `-I/x`, `-isystem/x`: an option name glued to the path.
        let i = arg.find('/')?;
        (arg.starts_with('-')
            && arg[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then_some(i)
    })?;
    Some(&arg[at..])
}

fn path_advice(arg: &str, ctx: &Context) -> String {
    match (absolute_path_in(arg), ctx.base_dir) {
        (None, _) => String::new(),
        (Some(_), None) => ": it is an absolute path and base_dir is not set (set base_dir \
                            to a directory above your checkouts)"
            .into(),
        (Some(p), Some(b)) if !crate::paths::is_under(p, b) => {
            ": it is an absolute path outside base_dir".into()
        }
        (Some(_), Some(_)) => String::new(),
    }
}

fn describe_args(label: &str, was: &[&str], now: &[&str], ctx: &Context) -> Vec<(Reason, String)> {
    let what = match label {
        "input" => "the source path",
        "language" => "the language",
        _ => "argument",
    };
    let added = only_in(now, was);
    let removed = only_in(was, now);
    let mut out = Vec::new();
    let mut removed = removed.into_iter();
    for a in added {
        let text = match removed.next() {
            Some(r) => format!("{what} {a} differs (was {r}){}", path_advice(a, ctx)),
            None => format!("{what} {a} is new{}", path_advice(a, ctx)),
        };
        out.push((Reason::Args, text));
    }
    for r in removed {
        out.push((Reason::Args, format!("{what} {r} is gone")));
    }
    out
}

/// `header` values are `PATH\tDIGEST`.
fn describe_headers(was: &[&str], now: &[&str]) -> Vec<(Reason, String)> {
    let split = |v: &[&str]| -> BTreeMap<String, String> {
        v.iter()
            .filter_map(|x| x.split_once('\t'))
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect()
    };
    let (was, now) = (split(was), split(now));
    let mut out = Vec::new();
    for (path, digest) in &now {
        match was.get(path) {
            Some(d) if d != digest => out.push((Reason::Include, format!("header {path} changed"))),
            None => out.push((Reason::Include, format!("header {path} is newly included"))),
            _ => {}
        }
    }
    for path in was.keys().filter(|p| !now.contains_key(*p)) {
        out.push((
            Reason::Include,
            format!("header {path} is no longer included"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
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
        assert_eq!(absolute_path_in("-I/x/y"), Some("/x/y"));
        assert_eq!(absolute_path_in("-fprofile-use=/p"), Some("/p"));
        assert_eq!(absolute_path_in("-DX=1"), None);
        assert_eq!(absolute_path_in("-DPATH=a/b"), None);
    }
}
