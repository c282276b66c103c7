//! The manager's answers that replace a run: `-h`, `-V` and
//! `--generate WHAT`, which prints documents built from the option table
//! (the man page's own sections are in `man`).
//! clap_mangen and clap_complete run only here, so only when asked.

use std::io::Write;

use clap::Command;
use clap_complete::aot::{Bash, Fish, Generator, Zsh};

use super::cli::{documented, Kind, Opt, MANAGER_OPTIONS};

/// What `--generate` prints: the man page, the README's option table, or
/// a shell's completion script.
pub const DOCUMENTS: &[&str] = &["man", "markdown", "bash", "zsh", "fish"];

/// Where `-h` sends the reader for more.
pub const HELP_MORE: &str = "\
The manual page has every configuration key, the environment and examples:
man objcache (or: objcache --generate man | man -l -). More in the docs:
/usr/share/doc/objcache, or docs/ in the source (configuration.md,
compatibility.md).";

pub fn help(cmd: &mut Command, _: &str) -> Result<(), String> {
    print!("{}\n{HELP_MORE}\n", cmd.render_help());
    Ok(())
}

/// The ccache release whose behaviour objcache follows: its options,
/// configuration and formats of statistics. Named `ccache`, objcache gives
/// it as its version, for the tools that decide by it what they may ask
/// (hendrikmuhs/ccache-action wants 4.10 for `--print-stats --format=json`).
pub const CCACHE_COMPATIBLE: &str = "4.13.6";

/// What `-V` lists as built in, in ccache's words: a `SCHEME-storage` for
/// each URL scheme a remote storage backend of its own serves (ccache's
/// test suite and scripts look for these before they use one; TLS and S3,
/// which ccache leaves to storage helpers, are objcache's own).
pub const FEATURES: &[&str] = &[
    "crsh-storage",
    "file-storage",
    "http-storage",
    "https-storage",
    "redis+unix-storage",
    "redis-storage",
    "rediss-storage",
    "s3-storage",
];

/// The name the manager is run by, which decides how it gives its version.
const CCACHE: &str = "ccache";

/// `-V`: a line with objcache's version and one with the ccache version it
/// follows, in ccache's words (`ccache version 4.13.6`, which ccache's test
/// suite and scripts look for on a line of its own), the first the one of
/// the name it is run by: named `ccache`, the first line parses as
/// ccache's for the tools that read only that one. Then ccache's
/// `Features:` line.
pub fn version(cmd: &mut Command, _: &str) -> Result<(), String> {
    let own = format!("objcache version {}", env!("CARGO_PKG_VERSION"));
    let ccache = format!("ccache version {CCACHE_COMPATIBLE}");
    if cmd.get_name() == CCACHE {
        println!("{ccache}\n{own}");
    } else {
        println!("{own}\n{ccache}");
    }
    println!("Features: {}", FEATURES.join(" "));
    Ok(())
}

/// `--print-version`: the version number alone; ccache's when named so.
pub fn print_version(cmd: &mut Command, _: &str) -> Result<(), String> {
    if cmd.get_name() == CCACHE {
        println!("{CCACHE_COMPATIBLE}");
    } else {
        println!("{}", env!("CARGO_PKG_VERSION"));
    }
    Ok(())
}

/// Prints the document `what` (one of [`DOCUMENTS`]; clap checked it).
pub fn document(_: &mut Command, what: &str) -> Result<(), String> {
    let text = render(what)?;
    std::io::stdout()
        .write_all(&text)
        .map_err(|e| format!("writing {what}: {e}"))
}

pub fn render(what: &str) -> Result<Vec<u8>, String> {
    Ok(match what {
        "man" => super::man::man()?,
        "markdown" => markdown().into_bytes(),
        "bash" => completion(Bash),
        "zsh" => completion(Zsh),
        "fish" => completion(Fish),
        other => return Err(format!("cannot generate \"{other}\"")),
    })
}

/// Named one by one, not through `Shell`, which would link every shell's
/// generator into the binary.
fn completion(shell: impl Generator) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut documented(), "objcache", &mut out);
    out
}

/// The README's table of manager options and the note on their order.
pub fn markdown() -> String {
    let mut out = String::from("| option | what it does |\n| --- | --- |\n");
    for opt in MANAGER_OPTIONS.iter().filter(|o| !o.hidden) {
        out += &format!("| {} | {} |\n", names(opt), escape(opt.help));
    }
    out + "\n" + &order_note(|s| format!("`{s}`")) + "\n"
}

/// How the kinds of option run; `code` marks up an option or a command.
pub(super) fn order_note(code: impl Fn(&str) -> String) -> String {
    let modifiers = listed(&code, |k| matches!(k, Kind::Modifier));
    let infos = listed(&code, |k| matches!(k, Kind::Info(_)));
    format!(
        "Options run in the order given ({} shows, then zeroes), \
         as often as given ({} sets both, {} shows twice). \
         {modifiers} apply to every option of the command line wherever they stand; \
         {infos} do what they say and nothing else.",
        code("objcache -s -z"),
        code("-o a=1 -o b=2"),
        code("-s -z -s"),
    )
}

/// `-M`, `--max-size SIZE`
fn names(opt: &Opt) -> String {
    let long = match opt.value {
        Some(v) if opt.optional => format!("`--{} [{v}]`", opt.long),
        Some(v) => format!("`--{} {v}`", opt.long),
        None => format!("`--{}`", opt.long),
    };
    match opt.short {
        Some(c) => format!("`-{c}`, {long}"),
        None => long,
    }
}

/// The visible options of a kind as "--a, --b and --c".
fn listed(code: impl Fn(&str) -> String, kind: impl Fn(&Kind) -> bool) -> String {
    let names: Vec<String> = MANAGER_OPTIONS
        .iter()
        .filter(|o| !o.hidden && kind(&o.kind))
        .map(|o| code(&format!("--{}", o.long)))
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Help text as a Markdown table cell: `<TAB>` must not read as HTML.
fn escape(text: &str) -> String {
    text.replace('<', "&lt;").replace('|', "\\|")
}
