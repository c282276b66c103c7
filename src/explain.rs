//! Why did it miss? Compares the key fields of a missed compile with those
//! of the last compile of the same output (see `disk::inputs`) and names
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
    /// A result of the call's key is stored but cannot serve this call.
    Unusable,
    /// The inputs are the same as last time: the entry is gone.
    Evicted,
    /// No earlier compile of this output is on record.
    NewOutput,
}

impl Reason {
    /// The reason's name in miss inputs and `--explain --format json`:
    /// its counter's name without `miss_reason_`.
    pub fn name(self) -> &'static str {
        let counter = self.counter().name();
        counter.strip_prefix("miss_reason_").unwrap_or(counter)
    }

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
            Reason::Unusable => Counter::MissReasonUnusable,
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
    let mut arg_changes: Vec<ArgChange> = Vec::new();
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
        if was == now {
            continue;
        }
        if ARG_LABELS.contains(&label) {
            arg_changes.extend(arg_changes_of(label, was, now, ctx));
        } else {
            findings.extend(describe(label, was, now, ctx));
        }
    }
    findings.extend(describe_arg_changes(arg_changes));
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

/// The explanation when a result of the call's key was found and could
/// not serve it (`why`): the inputs need not differ from anything.
pub fn unusable(why: &str) -> Explanation {
    Explanation {
        reason: Reason::Unusable,
        text: format!(
            "a result with this call's inputs is stored but cannot serve it: {why}; \
             the compile stores one that can"
        ),
    }
}

/// `text`, after the remote backends that could not be asked for the
/// call's entries (`URL (reason)`, masked): a shared entry there may have
/// served the call, whatever the local cache says.
pub fn with_unasked_remotes(unasked: &[String], text: &str) -> String {
    format!(
        "remote storage could not be asked: {}; whatever it held was not used \
         (`objcache --check-remote` tests it). Locally: {text}",
        unasked.join(", ")
    )
}

/// The output as the key of its miss inputs spells it: related to base_dir
/// (through the working directory `cwd`) or relative to the working
/// directory where it lies under them, so the same object in two checkouts
/// shares its miss inputs (see `disk::inputs::MissInputs::key_for`).
pub fn output_key(output: &str, cwd: &str, base: Option<&BaseDirs>) -> String {
    if let Some(rel) = crate::paths::relate(output, cwd, base) {
        return rel.hash_form();
    }
    crate::paths::strip_dir(output, cwd)
        .unwrap_or(output)
        .to_string()
}

/// The explanation when no earlier compile of the output is on record.
pub fn new_output(output: &str) -> Explanation {
    Explanation {
        reason: Reason::NewOutput,
        text: format!("first compile of {output} that this cache knows of"),
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
    if label == "header" {
        return describe_headers(was, now);
    }
    let pair = format!("{} vs {}", one(now), one(was));
    let described = describe_place_or_compiler(label, &pair, ctx)
        .unwrap_or_else(|| describe_input_or_setting(label, was, now, &pair));
    vec![described]
}

/// A field of the working directory or the compiler's identity.
fn describe_place_or_compiler(label: &str, pair: &str, ctx: &Context) -> Option<(Reason, String)> {
    Some(match label {
        "cwd" => (
            Reason::Cwd,
            format!(
                "cwd differs ({pair}) and the compile uses -g: set hash_dir = false or map it \
                 with -fdebug-prefix-map=OLD=NEW"
            ),
        ),
        "profile-cwd" => (
            Reason::Cwd,
            format!(
                "cwd differs ({pair}) and the compile writes coverage or profile data, whose \
                 paths the object records: sloppiness = gcno_cwd (coverage only) or one \
                 build directory"
            ),
        ),
        "compiler-mtime" => {
            let hint = if ctx.compiler_check == "mtime" {
                " (compiler_check = mtime): consider compiler_check = content"
            } else {
                ""
            };
            (
                Reason::Compiler,
                format!("compiler mtime or size changed{hint}"),
            )
        }
        "compiler-content" => (Reason::Compiler, "the compiler binary changed".into()),
        "compiler-name" => (Reason::Compiler, format!("compiler differs ({pair})")),
        "compiler-string" | "compiler-check-stdout" | "compiler-check-stderr" => (
            Reason::Compiler,
            format!("the compiler's identity (compiler_check) differs ({pair})"),
        ),
        "cpu" => (
            Reason::Environment,
            format!("this machine's CPU differs ({pair}) and the compile uses =native"),
        ),
        _ => return None,
    })
}

/// A field of the inputs, the arguments, the environment or the
/// configuration.
fn describe_input_or_setting(
    label: &str,
    was: &[&str],
    now: &[&str],
    pair: &str,
) -> (Reason, String) {
    match label {
        "namespace" | "sloppiness" | "ignored-headers" => (
            Reason::Config,
            format!("configuration {label} differs ({pair})"),
        ),
        "source" => (Reason::Source, "source changed".into()),
        "date" => (
            Reason::TimeMacro,
            format!(
                "the source uses __DATE__, and what decides the date differs ({pair}): \
                 direct mode keeps one record per day"
            ),
        ),
        "extra-file" | "profile-data" | "pch" | "pch-sum" | "pch-input-stamp" => (
            Reason::Include,
            format!("a file named by an option or extra_files_to_hash changed ({label})"),
        ),
        "preprocessed" => (
            Reason::Preprocessed,
            "the preprocessed text differs (a header, a macro or a path in it)".into(),
        ),
        "recorded-arg" => (
            Reason::Args,
            "the command line differs, and the object records it (clang's \
             -frecord-command-line): every argument counts, colour options and order included"
                .into(),
        ),
        "diagnostics" => (
            Reason::Args,
            format!(
                "the diagnostics are captured {} (last time {}): with -fmessage-length, \
                 a recorded command line or escape bytes in the source, colour choices \
                 cannot share an entry",
                one(now),
                one(was)
            ),
        ),
        var if var.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
            let hint = if var.starts_with("LANG") || var.starts_with("LC_") {
                ": sloppiness = locale ignores it"
            } else {
                ""
            };
            (
                Reason::Environment,
                format!("environment variable {var} differs ({pair}){hint}"),
            )
        }
        other => (Reason::Config, format!("{other} differs ({pair})")),
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

/// What an absolute path in a changed argument has to do with base_dir.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PathAdvice {
    /// No absolute path, or one under base_dir.
    None,
    NoBaseDir,
    OutsideBaseDir,
}

impl PathAdvice {
    fn of(arg: &str, ctx: &Context) -> PathAdvice {
        match (absolute_path_in(arg), ctx.base_dir) {
            (None, _) => PathAdvice::None,
            (Some(_), None) => PathAdvice::NoBaseDir,
            (Some(p), Some(b)) if !b.contains(p) => PathAdvice::OutsideBaseDir,
            (Some(_), Some(_)) => PathAdvice::None,
        }
    }

    /// The advice for one path, or for `more` + 1 of them.
    fn text(self, more: usize) -> String {
        let fix = "(set base_dir to a directory above your checkouts)";
        match (self, more) {
            (PathAdvice::None, _) => String::new(),
            (PathAdvice::NoBaseDir, 0) => {
                format!(": it is an absolute path and base_dir is not set {fix}")
            }
            (PathAdvice::OutsideBaseDir, 0) => ": it is an absolute path outside base_dir".into(),
            (advice, n) => {
                let and = if n == 1 {
                    "and so does 1 more absolute path in the command".to_string()
                } else {
                    format!("and so do {n} more absolute paths in the command")
                };
                match advice {
                    PathAdvice::NoBaseDir => {
                        format!(", {and}: they are absolute paths and base_dir is not set {fix}")
                    }
                    _ => format!(", {and}: they are absolute paths outside base_dir"),
                }
            }
        }
    }
}

/// Labels of the command line as hashed, compared as one collection each.
const ARG_LABELS: &[&str] = &["arg", "cpp-arg", "language", "input"];

/// One argument that is new, gone or differs (`now` and `was`).
struct ArgChange {
    what: &'static str,
    now: Option<String>,
    was: Option<String>,
    advice: PathAdvice,
}

fn arg_changes_of(label: &str, was: &[&str], now: &[&str], ctx: &Context) -> Vec<ArgChange> {
    let what = match label {
        "input" => "the source path",
        "language" => "the language",
        _ => "argument",
    };
    let added = only_in(now, was);
    let mut removed = only_in(was, now).into_iter();
    let mut out = Vec::new();
    for a in added {
        out.push(ArgChange {
            what,
            now: Some(a.to_string()),
            was: removed.next().map(str::to_string),
            advice: PathAdvice::of(a, ctx),
        });
    }
    for r in removed {
        out.push(ArgChange {
            what,
            now: None,
            was: Some(r.to_string()),
            advice: PathAdvice::None,
        });
    }
    out
}

/// The changed arguments, those whose absolute paths base_dir would fix
/// (a CMake build moved to another checkout changes every `-I` and the
/// source path) named by the first one and a count, with the advice once.
fn describe_arg_changes(changes: Vec<ArgChange>) -> Vec<(Reason, String)> {
    let count = |advice: PathAdvice| changes.iter().filter(|c| c.advice == advice).count();
    let mut advised = std::collections::HashSet::new();
    let mut out = Vec::new();
    for c in &changes {
        let advice = match c.advice {
            PathAdvice::None => String::new(),
            a if advised.insert(a) => a.text(count(a) - 1),
            // Counted in the first such argument's finding.
            _ => continue,
        };
        let text = match (&c.now, &c.was) {
            (Some(a), Some(r)) => format!("{} {a} differs (was {r}){advice}", c.what),
            (Some(a), None) => format!("{} {a} is new{advice}", c.what),
            (None, Some(r)) => format!("{} {r} is gone", c.what),
            (None, None) => continue,
        };
        out.push((Reason::Args, text));
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
    // Headers that are gone from one path and included with the same name
    // and content from another (a checkout moved, an -I changed).
    let file_name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let mut gone_by_digest: BTreeMap<(String, &str), Vec<&str>> = BTreeMap::new();
    for (path, digest) in was.iter().filter(|(p, _)| !now.contains_key(*p)) {
        gone_by_digest
            .entry((file_name(path), digest))
            .or_default()
            .push(path);
    }
    let mut moved: Vec<(&str, &str)> = Vec::new();
    let mut new = Vec::new();
    for (path, digest) in &now {
        match was.get(path) {
            Some(d) if d != digest => out.push((Reason::Include, format!("header {path} changed"))),
            None => match gone_by_digest
                .get_mut(&(file_name(path), digest.as_str()))
                .and_then(|v| v.pop())
            {
                Some(old) => moved.push((path, old)),
                None => new.push(path),
            },
            _ => {}
        }
    }
    if let Some((path, old)) = moved.first() {
        let more = match moved.len() - 1 {
            0 => String::new(),
            1 => ", and so is 1 more".into(),
            n => format!(", and so are {n} more"),
        };
        out.push((
            Reason::Include,
            format!("header {path} is included from another path (was {old}){more}"),
        ));
    }
    for path in new {
        out.push((Reason::Include, format!("header {path} is newly included")));
    }
    let mut gone: Vec<&str> = gone_by_digest.into_values().flatten().collect();
    gone.sort_unstable();
    for path in gone {
        out.push((
            Reason::Include,
            format!("header {path} is no longer included"),
        ));
    }
    out
}

#[cfg(test)]
mod tests;
