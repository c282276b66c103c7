//! Every command the documentation shows, run: the fenced blocks of
//! README.md and docs/*.md.
//!
//! The marking, so a reader and this test agree on what is checked:
//!
//! - A ```` ```sh ```` block (or `bash`, `shell`, `console`) is runnable:
//!   this test runs it with `bash -e -o pipefail` in a sandbox (below), and
//!   it must exit 0.
//! - `<!-- doc-test: skip: REASON -->` on the line before a block's fence
//!   leaves it out, for the reason given (a release build, a command that
//!   installs system-wide, one another test runs as written: the reason
//!   names it). `<!-- doc-test: skip-file: REASON -->` anywhere in a file
//!   does so for every block of the file (the benchmark runs).
//! - `<!-- doc-test: setup: SHELL -->` before a block runs SHELL first, in
//!   the same shell: the state the surrounding text assumes (a configured
//!   build directory, a warm cache).
//! - A line of a runnable block with `# not run by the doc tests: REASON`
//!   is left out; the reader sees the reason on the line itself.
//! - A ```` ```text ```` (or `json`, `nginx`, `ini`, `c`) block is shown,
//!   not run. A block in any other language, or none, must be skipped with
//!   a reason; a fence in a block quote and a doc-test comment not just
//!   before a fence fail the test, so that no block goes unseen. Fences
//!   are CommonMark's: ```` ``` ```` or `~~~`, three or more, indented
//!   in a list item or not; the language is the info string's first word.
//! - A ```` ```yaml ```` or ```` ```dockerfile ```` block is either a CI
//!   recipe, `<!-- doc-test: ci: github|gitlab|docker -->`, whose shell
//!   steps `doc_ci_recipes` runs as two jobs sharing a simulated cache
//!   service, or skipped with a reason.
//!
//! The sandbox: a copy of `fixtures/guide` (a C and a C++ source, a
//! header, a Makefile, a CMakeLists.txt) as the working directory, an empty
//! `HOME` (so the cache is `~/.cache/ccache` there) with `~/.local/bin`
//! in `PATH` as a login shell puts it, `objcache` first in `PATH`, its own
//! `TMPDIR` and `XDG_RUNTIME_DIR`, and `DOC_REPO` naming the repository
//! for the blocks that say to run from its root.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// What a `<!-- doc-test: … -->` comment says about the block after it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Directive {
    Skip(String),
    Setup(String),
    Ci(String),
}

/// One fenced block of a document.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// `docs/ci.md:16`: the file and the line of the opening fence.
    pub(crate) at: String,
    pub(crate) info: String,
    pub(crate) body: String,
    pub(crate) directives: Vec<Directive>,
}

/// The marker a shell line carries to be left out, with its reason.
pub(crate) const NOT_RUN: &str = "# not run by the doc tests:";

const SHELL_INFOS: [&str; 4] = ["sh", "bash", "shell", "console"];

/// Blocks that need `<!-- doc-test: ci: KIND -->` or a skip.
const CI_INFOS: [&str; 4] = ["yaml", "yml", "dockerfile", "Dockerfile"];

/// Languages shown, never run: output, files, configuration.
const SHOWN_INFOS: [&str; 5] = ["text", "json", "nginx", "ini", "c"];

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, as (relative path, text).
pub(crate) fn documents() -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|n| {
            let text = fs::read_to_string(repo().join(&n)).unwrap_or_else(|e| panic!("{n}: {e}"));
            (n, text)
        })
        .collect()
}

fn directive(line: &str, at: &str) -> Option<Directive> {
    let inner = line
        .trim()
        .strip_prefix("<!-- doc-test:")?
        .strip_suffix("-->")?
        .trim();
    let (kind, arg) = inner
        .split_once(':')
        .unwrap_or_else(|| panic!("{at}: a doc-test comment without KIND: {line}"));
    let arg = arg.trim().to_string();
    assert!(
        !arg.is_empty(),
        "{at}: doc-test {kind} says nothing: {line}"
    );
    match kind.trim() {
        "skip" | "skip-file" => Some(Directive::Skip(arg)),
        "setup" => Some(Directive::Setup(arg)),
        "ci" => Some(Directive::Ci(arg)),
        other => panic!("{at}: unknown doc-test directive {other:?}"),
    }
}

/// A fence line (CommonMark): its character (`` ` `` or `~`), its length
/// (3 or more) and the rest of the line, trimmed.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let t = line.trim_start();
    let c = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = t.chars().take_while(|x| *x == c).count();
    (n >= 3).then(|| (c, n, t[n..].trim()))
}

/// The fenced blocks of `text`, each with the directives on the lines
/// just before its fence (and the file's `skip-file`). Panics on what it
/// cannot read as the test means it (a fence in a block quote, a block
/// without its closing fence, a directive before no block), so that no
/// block goes unseen.
pub(crate) fn blocks(name: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let is_file_skip = |l: &str| l.trim().starts_with("<!-- doc-test: skip-file:");
    let file_skip = lines
        .iter()
        .filter(|l| is_file_skip(l))
        .map(|l| directive(l, name).unwrap())
        .next();
    // Lines that are a block's or a directive of one.
    let mut used = vec![false; lines.len()];
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let at = format!("{name}:{}", i + 1);
        let Some((c, n, info)) = fence(lines[i]) else {
            let quoted = lines[i].trim_start().strip_prefix('>');
            assert!(
                quoted
                    .and_then(|q| fence(q.trim_start_matches([' ', '>'])))
                    .is_none(),
                "{at}: a fenced block in a block quote: the doc tests do not read it"
            );
            i += 1;
            continue;
        };
        let indent = lines[i].len() - lines[i].trim_start().len();
        let end = (i + 1..lines.len())
            .find(|&j| {
                fence(lines[j]).is_some_and(|(c2, n2, rest)| c2 == c && n2 >= n && rest.is_empty())
            })
            .unwrap_or_else(|| panic!("{at}: the block has no closing fence"));
        let body: Vec<&str> = lines[i + 1..end]
            .iter()
            .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
            .collect();
        let mut directives: Vec<Directive> = Vec::new();
        for j in (0..i).rev() {
            let Some(d) = directive(lines[j], &at) else {
                break;
            };
            used[j] = true;
            directives.push(d);
        }
        directives.reverse();
        directives.extend(file_skip.clone());
        used[i..=end].fill(true);
        out.push(Block {
            at,
            // The language is the info string's first word.
            info: info.split_whitespace().next().unwrap_or("").to_string(),
            body: body.join("\n") + "\n",
            directives,
        });
        i = end + 1;
    }
    for (j, line) in lines.iter().enumerate() {
        assert!(
            used[j] || is_file_skip(line) || directive(line, name).is_none(),
            "{name}:{}: a doc-test comment not on the lines just before a fence: {line}",
            j + 1
        );
    }
    out
}

impl Block {
    pub(crate) fn skip(&self) -> Option<&str> {
        self.directives.iter().find_map(|d| match d {
            Directive::Skip(r) => Some(r.as_str()),
            _ => None,
        })
    }

    pub(crate) fn ci(&self) -> Option<&str> {
        self.directives.iter().find_map(|d| match d {
            Directive::Ci(k) => Some(k.as_str()),
            _ => None,
        })
    }

    fn setup(&self) -> String {
        self.directives
            .iter()
            .filter_map(|d| match d {
                Directive::Setup(s) => Some(format!("{s}\n")),
                _ => None,
            })
            .collect()
    }

    fn is_shell(&self) -> bool {
        SHELL_INFOS.contains(&self.info.as_str())
    }
}

/// A shell text without its lines marked [`NOT_RUN`]; a marked line must
/// be a whole command (not the tail of a `\` continuation).
pub(crate) fn runnable_lines(script: &str, at: &str) -> String {
    let mut out = String::new();
    let mut continued = false;
    for line in script.lines() {
        if line.contains(NOT_RUN) {
            assert!(!continued, "{at}: a not-run mark inside a command: {line}");
            out.push_str(":\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
        continued = line.trim_end().ends_with('\\');
    }
    out
}

/// Every fenced block of README.md and docs/*.md.
pub(crate) fn all_blocks() -> Vec<Block> {
    documents()
        .iter()
        .flat_map(|(name, text)| blocks(name, text))
        .collect()
}

/// The directory a documented command runs in, with its own home, temp
/// and runtime directories and `objcache` first in `PATH`.
pub(crate) struct Sandbox {
    pub(crate) env: TestEnv,
    pub(crate) proj: PathBuf,
    pub(crate) home: PathBuf,
    bin: PathBuf,
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let env = TestEnv::new();
        let proj = env.root().join("proj");
        copy_dir(&repo().join("fixtures/guide"), &proj);
        let home = env.dir("home");
        let bin = env.dir("bin");
        std::os::unix::fs::symlink(objcache_bin(), bin.join("objcache")).unwrap();
        env.dir("tmp");
        env.dir("run");
        Sandbox {
            env,
            proj,
            home,
            bin,
        }
    }

    /// `bash -e -o pipefail -c SCRIPT` in `cwd`, in the sandbox's
    /// environment (no `CCACHE_*` variable set).
    pub(crate) fn bash(&self, script: &str, cwd: &Path) -> Command {
        let mut cmd = Command::new("bash");
        clean_env(&mut cmd);
        for var in ["XDG_CONFIG_HOME", "XDG_CACHE_HOME", "TMPDIR", "MAKEFLAGS"] {
            cmd.env_remove(var);
        }
        let path = format!(
            "{}:{}/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            self.bin.display(),
            self.home.display()
        );
        cmd.args(["-e", "-o", "pipefail", "-c", script])
            .current_dir(cwd)
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("TMPDIR", self.env.root().join("tmp"))
            .env("XDG_RUNTIME_DIR", self.env.root().join("run"))
            .env("DOC_REPO", repo())
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
        cmd
    }
}

fn run_block(block: &Block) -> Result<(), String> {
    let sandbox = Sandbox::new();
    let script = format!(
        "{}{}",
        block.setup(),
        runnable_lines(&block.body, &block.at)
    );
    let mut cmd = sandbox.bash(&script, &sandbox.proj);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(180));
    // Storage helpers a block started outlive it unless stopped.
    let _ = run(&mut sandbox.bash("objcache --stop-storage-helpers", &sandbox.proj));
    if out.success() {
        Ok(())
    } else {
        Err(format!("{}:\n{script}\n{}", block.at, out.dump()))
    }
}

/// Every runnable block of README.md and docs/*.md exits 0 in a sandbox.
#[test]
fn every_runnable_documented_command_runs() {
    require("gcc");
    require("g++");
    require("make");
    require("cmake");
    require("jq");
    let started = Instant::now();
    let runnable: Vec<Block> = all_blocks()
        .into_iter()
        .filter(|b| b.is_shell() && b.skip().is_none())
        .collect();
    assert!(runnable.len() >= 15, "{runnable:#?}");
    let failures: Vec<String> = runnable.iter().filter_map(|b| run_block(b).err()).collect();
    eprintln!(
        "doc_commands: ran {} blocks in {:.1?}",
        runnable.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every block a reader could run is run here or by `doc_ci_recipes`, or
/// says why not; every CI recipe names a kind that test knows.
#[test]
fn every_block_is_run_or_says_why_not() {
    let mut unmarked = Vec::new();
    for b in all_blocks() {
        if let Some(kind) = b.ci() {
            assert!(
                ["github", "gitlab", "docker"].contains(&kind),
                "{}: unknown CI kind {kind}",
                b.at
            );
            continue;
        }
        let info = b.info.as_str();
        if CI_INFOS.contains(&info) && b.skip().is_none() {
            unmarked.push(b.at.clone());
        }
        assert!(
            SHELL_INFOS.contains(&info)
                || CI_INFOS.contains(&info)
                || SHOWN_INFOS.contains(&info)
                || b.skip().is_some(),
            "{}: a block in language {info:?}, which the doc tests neither run nor \
             know as shown only: say `sh` (run), `text` (shown) …, or skip it with a reason",
            b.at
        );
    }
    assert!(
        unmarked.is_empty(),
        "CI blocks neither run (`<!-- doc-test: ci: KIND -->`) nor skipped \
         (`<!-- doc-test: skip: REASON -->`): {unmarked:?}"
    );
}

#[test]
fn the_marking_is_read_as_documented() {
    let doc = "<!-- doc-test: skip: needs root -->\n```sh\nsudo true\n```\n\n\
               <!-- doc-test: setup: cd build -->\n```sh\nmake\n```\n\
               ```sh\na\nb # not run by the doc tests: no daemon\n```\n";
    let bs = blocks("x.md", doc);
    assert_eq!(bs.len(), 3);
    assert_eq!(bs[0].skip(), Some("needs root"));
    assert_eq!(bs[1].setup(), "cd build\n");
    assert_eq!(bs[1].at, "x.md:7");
    assert_eq!(runnable_lines(&bs[2].body, "x"), "a\n:\n");
    let file = blocks(
        "y.md",
        "<!-- doc-test: skip-file: slow -->\n\n```sh\nx\n```\n",
    );
    assert_eq!(file[0].skip(), Some("slow"));
}

/// Fences of every form CommonMark allows are read: `~~~`, longer
/// fences, indented in a list item, an info string with more words.
#[test]
fn every_fence_form_is_read() {
    let doc = "~~~sh\na\n~~~\n\n- item:\n\n  ```bash title=x\n  b\n  ```\n\n\
               ````shell\n```\nc\n````\n\n```shell-session\nd\n```\n";
    let bs = blocks("x.md", doc);
    let got: Vec<(&str, &str)> = bs
        .iter()
        .map(|b| (b.info.as_str(), b.body.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("sh", "a\n"),
            ("bash", "b\n"),
            ("shell", "```\nc\n"),
            ("shell-session", "d\n")
        ]
    );
    assert!(bs[..3].iter().all(|b| b.is_shell()));
    assert!(!bs[3].is_shell(), "an unknown language is not run…");
    assert!(!SHOWN_INFOS.contains(&"shell-session"), "…and not let pass");
}

#[test]
#[should_panic(expected = "not on the lines just before a fence")]
fn a_directive_before_no_block_fails() {
    blocks(
        "x.md",
        "<!-- doc-test: skip: x -->\n\n```sh\nrm -rf /\n```\n",
    );
}

#[test]
#[should_panic(expected = "block quote")]
fn a_block_in_a_quote_fails() {
    blocks("x.md", "> ```sh\n> true\n> ```\n");
}
