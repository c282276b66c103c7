//! The man page, objcache(1): clap_mangen renders NAME to OPTIONS from the
//! option table; the sections after it are written here, CONFIGURATION
//! from the key table (`config::keys::KEYS`, with a line each from
//! `config::key_docs`), so neither list can drift from what objcache takes.

use crate::config::key_docs::KEY_DOCS;
use crate::config::keys::KEYS;
use crate::config::Sloppiness;

use super::cli::documented;

/// The man page's DESCRIPTION before the note on order; `-h` shows the
/// one-line `about` instead. One paragraph per blank-line-separated block.
const DESCRIPTION: &str = "\
objcache caches the objects a C, C++ or assembler compile produces and \
gives them back when the same compile runs again. It is a drop-in \
replacement for ccache: it takes ccache's options, ccache.conf files and \
CCACHE_* variables, and keeps its own cache directory.

It is used in one of three ways. As a prefix: objcache gcc -c foo.c runs \
one cached compile (CC=\"objcache gcc\" for a build). As a compiler \
launcher: CMake's CMAKE_C_COMPILER_LAUNCHER=objcache and \
CMAKE_CXX_COMPILER_LAUNCHER=objcache, Meson's and other build systems' \
equivalents. Masquerading: a directory of symbolic links named like the \
compilers (gcc, g++, cc, c++, clang, clang++) that point to objcache, put \
first in PATH; objcache then runs the first compiler of that name further \
along PATH. Installed or linked as ccache, it answers as ccache does.

A compile that cannot be cached, or any trouble with the cache, runs the \
real compiler with the same arguments and passes its output and exit \
status through; the statistics (objcache -s) count why.

Called with options only, it manages the cache.";

/// `objcache(1)` as roff.
pub fn man() -> Result<Vec<u8>, String> {
    let description = format!(
        "{DESCRIPTION}\n\n{}",
        super::generate::order_note(str::to_owned)
    );
    let version = env!("CARGO_PKG_VERSION");
    // Without a version clap_mangen adds no VERSION section between
    // OPTIONS and the sections below; the title names it instead.
    let cmd = documented().version(None::<&str>).long_about(description);
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .title("OBJCACHE")
        .source(format!("objcache {version}"))
        .manual("User Commands")
        .render(&mut out)
        .map_err(|e| format!("rendering the man page: {e}"))?;
    let mut roff = String::from_utf8(out).map_err(|e| format!("the man page: {e}"))?;
    // No hyphenation: an option or a variable broken across lines cannot
    // be copied.
    if let Some(end) = roff
        .find(".TH ")
        .and_then(|at| roff[at..].find('\n').map(|n| at + n + 1))
    {
        roff.insert_str(end, ".nh\n");
    }
    configuration(&mut roff);
    for (title, body) in SECTIONS {
        section(&mut roff, title, body);
    }
    Ok(ascii(&roff).into_bytes())
}

/// roff input is ASCII (groff warns of anything else without `-k`): each
/// other character as its `\[uXXXX]` escape.
fn ascii(roff: &str) -> String {
    roff.chars()
        .map(|c| match c.is_ascii() {
            true => c.to_string(),
            false => format!("\\[u{:04X}]", u32::from(c)),
        })
        .collect()
}

/// The CONFIGURATION section: how settings are found, then every key with
/// its variables and default.
fn configuration(roff: &mut String) {
    section(roff, "CONFIGURATION", CONFIGURATION);
    for (key, doc) in KEYS.iter().zip(KEY_DOCS) {
        let mut vars: Vec<String> = key.vars.iter().map(|v| format!("CCACHE_{v}")).collect();
        if key.boolean {
            vars.push(format!("CCACHE_NO{}", key.vars[0]));
        }
        let vars: Vec<String> = vars.iter().map(|v| bold(v)).collect();
        roff.push_str(".TP\n");
        roff.push_str(&format!("{} ({})\n", bold(key.name), vars.join(", ")));
        let mut text = doc.text.to_string();
        if key.name == "sloppiness" {
            let values: Vec<&str> = Sloppiness::ALL.iter().map(|s| s.name()).collect();
            text = format!("{text} {}.", values.join(", "));
        }
        let default = match (doc.default, key.default) {
            (Some(stated), _) => stated,
            (None, "") => "none",
            (None, value) => value,
        };
        roff.push_str(&escape_line(&format!("{text} Default: {default}.")));
        roff.push('\n');
    }
}

fn bold(text: &str) -> String {
    format!("\\fB{}\\fR", escape(text))
}

/// A section of paragraphs (blank lines between them), `.TP` items (a line
/// `* TERM` followed by its text) and literal blocks (lines indented by
/// four spaces).
fn section(roff: &mut String, title: &str, body: &str) {
    roff.push_str(&format!(".SH {title}\n"));
    let mut literal = false;
    for line in body.lines() {
        if let Some(code) = line.strip_prefix("    ") {
            if !literal {
                roff.push_str(".PP\n.RS 4\n.nf\n");
                literal = true;
            }
            roff.push_str(&escape_line(code));
            roff.push('\n');
            continue;
        }
        if literal {
            // Text after a literal block starts a paragraph of its own.
            roff.push_str(if line.is_empty() {
                ".fi\n.RE\n"
            } else {
                ".fi\n.RE\n.PP\n"
            });
            literal = false;
        }
        if line.is_empty() {
            roff.push_str(".PP\n");
        } else if let Some(term) = line.strip_prefix("* ") {
            roff.push_str(&format!(".TP\n{}\n", bold(term)));
        } else {
            roff.push_str(&escape_line(line));
            roff.push('\n');
        }
    }
    if literal {
        roff.push_str(".fi\n.RE\n");
    }
}

/// Text for roff: backslashes, hyphens (which would otherwise be
/// typeset as typographic hyphens, breaking copied options) and
/// apostrophes (clang_mangen's preamble defines `Aq`).
fn escape(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('\'', "\\*(Aq")
}

/// `escape`, and a line starting with `.` is text, not a request.
fn escape_line(text: &str) -> String {
    let text = escape(text);
    match text.starts_with('.') {
        true => format!("\\&{text}"),
        false => text,
    }
}

const CONFIGURATION: &str = "\
Each key is set, highest first, by a KEY=VALUE argument before the compiler \
(objcache max_files=0 gcc ...), for that call; by its CCACHE_ variable; by \
the nearest ccache.conf in the working directory or a parent; by the \
primary configuration file; by the system configuration file; else it has \
its default (see FILES for the files).

A file holds one key = value per line; # starts a comment, a line starting \
with a space continues the value above. Values expand $VAR and ${VAR}. \
Booleans are true or false in a file; a boolean variable that is set means \
true, and its CCACHE_NO variable means false. Sizes take the suffixes k, M, \
G, T (powers of 1000) and Ki, Mi, Gi, Ti (powers of 1024); no suffix is GiB. \
Settings that run programs or write elsewhere are taken from a file only \
when no one untrusted can write it.

objcache -p shows every key with its value and where it came from; \
objcache -o KEY=VALUE writes one to the primary configuration file.";

/// The sections after CONFIGURATION, in order.
const SECTIONS: &[(&str, &str)] = &[
    ("ENVIRONMENT", ENVIRONMENT),
    ("FILES", FILES),
    ("EXIT STATUS", EXIT_STATUS),
    ("EXAMPLES", EXAMPLES),
    ("SEE ALSO", SEE_ALSO),
];

const ENVIRONMENT: &str = "\
* CCACHE_*
Each configuration key's variables, listed under CONFIGURATION; unknown \
ones are ignored.
* CCACHE_CONFIGPATH
The only configuration file read (no system file, no directory's \
ccache.conf).
* CCACHE_DIR
The cache directory (the key cache_dir); its ccache.conf is the primary \
configuration file. Set but empty means the default places, whatever \
cache_dir a configuration file sets.
* OBJCACHE_SYSTEM_CONFIG
The system configuration file to read instead of /etc/ccache.conf.
* HOME, XDG_CACHE_HOME, XDG_CONFIG_HOME
Where the default cache directory and primary configuration file are.
* XDG_RUNTIME_DIR
Where the sockets of storage helper programs are (ccache-tmp below it), \
else /tmp/ccache-tmp-UID.
* SSL_CERT_FILE
Trust roots for https:// and rediss:// remote storage, instead of the \
system's.
* LANG, LC_ALL, LC_CTYPE, LC_MESSAGES
Go into the key, since they change the compiler's messages (not with \
sloppiness locale).
* CPATH, C_INCLUDE_PATH, CPLUS_INCLUDE_PATH, OBJC_INCLUDE_PATH, OBJCPLUS_INCLUDE_PATH
Go into the key, since they change which headers are read.
* SOURCE_DATE_EPOCH
Goes into the key of a compile that uses __DATE__ or __TIME__.
* GCC_COLORS
Goes into the key of a gcc compile whose diagnostics are coloured.";

const FILES: &str = "\
* /etc/ccache.conf
The system configuration file.
* CACHE_DIR/ccache.conf
The primary configuration file when CCACHE_DIR is set, or cache_dir in the \
system configuration file.
* ~/.ccache/ccache.conf, $XDG_CONFIG_HOME/ccache/ccache.conf, ~/.config/ccache/ccache.conf
The primary configuration file otherwise, as for ccache: the first when \
~/.ccache exists, the second when XDG_CONFIG_HOME is set. An older \
objcache's $XDG_CONFIG_HOME/objcache/ccache.conf (~/.config/objcache/ccache.conf) \
comes first while it exists.
* ccache.conf in the working directory or a parent
A directory's configuration, for the builds below it; the search stops at \
ceiling_dirs and after a directory holding one of ceiling_markers.
* ~/.ccache, $XDG_CACHE_HOME/ccache, ~/.cache/ccache
The default cache directory, as for ccache: the first when it exists, \
the second when XDG_CACHE_HOME is set (an older objcache's \
$XDG_CACHE_HOME/objcache or ~/.cache/objcache comes first while it \
exists). Entries are in CACHE_DIR/H/H2/ by the first two hex digits of \
their key, statistics in CACHE_DIR/objcache-stats/, memos of \
compilers and large inputs in compilers/ and digests/. The layout and \
formats are in docs/formats.md.";

const EXIT_STATUS: &str = "\
A compile exits with the compiler's exit status, a hit with that of the \
compile it replays (128 plus the signal number when the compiler was \
killed by one). objcache itself exits 1 when it cannot run the compiler \
(not found, a prefix command not found).

The cache manager exits 0 on success; 1 on an error (a bad option or \
value, bad configuration, a failed action), when --check-hit-rate finds \
the hit rate below its minimum, and when --check-remote finds a backend \
that fails; 2 when called with nothing to do (no options, no compiler).";

const EXAMPLES: &str = "\
Cache one compile, then show the statistics:
    objcache gcc -c -O2 foo.c -o foo.o
    objcache -s
Cache a CMake build:
    cmake -B build -DCMAKE_C_COMPILER_LAUNCHER=objcache -DCMAKE_CXX_COMPILER_LAUNCHER=objcache
    cmake --build build
Cache a make build through masquerading links (a link for each compiler \
installed; run it again after installing one):
    objcache --install-symlinks ~/.local/lib/objcache
    PATH=~/.local/lib/objcache:$PATH make -j8
Limit the cache to 20 GB, keep it for a team in one directory, in CI:
    export CCACHE_DIR=/shared/cache CCACHE_BASEDIR=$PWD
    objcache -M 20G
    objcache -z; make CC=\"objcache gcc\"; objcache --check-hit-rate 80
Say why the last compile of an object missed:
    objcache --explain build/foo.o";

const SEE_ALSO: &str = "\
ccache(1), gcc(1), clang(1).

The documentation of objcache, README.md and in docs/ of its source or \
of /usr/share/doc/objcache: guide.md (getting started, CI \
recipes), configuration.md (every key at length), compatibility.md (where objcache differs from ccache), \
cache-size.md, remote-storage.md, ci.md, formats.md.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::cli::MANAGER_OPTIONS;

    fn page() -> String {
        String::from_utf8(man().unwrap()).unwrap()
    }

    /// The body of section `title`, up to the next one.
    fn section_of<'a>(roff: &'a str, title: &str) -> &'a str {
        let start = roff
            .find(&format!(".SH {title}\n"))
            .unwrap_or_else(|| panic!("no section {title}"));
        let body = &roff[start + 5 + title.len()..];
        body.find("\n.SH ").map_or(body, |end| &body[..end])
    }

    /// The bold term opening each `.TP` item of a section, unescaped.
    fn terms(body: &str) -> Vec<String> {
        body.split(".TP\n")
            .skip(1)
            .filter_map(|item| item.lines().next())
            .map(|line| {
                line.replace("\\fB", "")
                    .replace("\\fR", "")
                    .replace("\\-", "-")
            })
            .collect()
    }

    #[test]
    fn configuration_lists_every_key_of_the_table_in_order() {
        let page = page();
        let listed: Vec<String> = terms(section_of(&page, "CONFIGURATION"))
            .iter()
            .map(|t| t.split(' ').next().unwrap().to_string())
            .collect();
        let keys: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        assert_eq!(listed, keys);
        // Each with its variables and its default.
        assert!(page
            .contains("\\fBcompression\\fR (\\fBCCACHE_COMPRESS\\fR, \\fBCCACHE_NOCOMPRESS\\fR)"));
        assert!(page.contains("\\fBcompiler\\fR (\\fBCCACHE_COMPILER\\fR, \\fBCCACHE_CC\\fR)"));
        assert!(page.contains("Default: 5GiB."));
    }

    #[test]
    fn options_are_the_visible_ones_of_the_table() {
        let page = page();
        let listed = terms(section_of(&page, "OPTIONS"));
        let want: Vec<String> = MANAGER_OPTIONS
            .iter()
            .filter(|o| !o.hidden)
            .map(|o| {
                let long = format!("--{}", o.long);
                match o.short {
                    Some(c) => format!("-{c}, {long}"),
                    None => long,
                }
            })
            .collect();
        let names: Vec<String> = listed
            .iter()
            // Up to the value: ` \fI<PATH>` or ` [\fI<OUTPUT>]`.
            .map(|t| {
                t.split([' ', '['])
                    .take_while(|w| w.starts_with('-'))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(names, want);
    }

    #[test]
    fn every_section_is_there_in_order() {
        let page = page();
        let titles: Vec<&str> = page
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .collect();
        assert_eq!(
            titles,
            [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "CONFIGURATION",
                "ENVIRONMENT",
                "FILES",
                "EXIT STATUS",
                "EXAMPLES",
                "SEE ALSO"
            ]
        );
        assert!(page.is_ascii());
        assert!(section_of(&page, "SEE ALSO").contains("ccache(1)"));
    }

    /// The masquerade example uses the command made for it, which links
    /// every compiler installed (versioned and cross ones too).
    #[test]
    fn the_masquerade_example_installs_the_links() {
        let page = page();
        let examples = section_of(&page, "EXAMPLES");
        assert!(
            examples.contains("objcache \\-\\-install\\-symlinks"),
            "{examples}"
        );
        assert!(!examples.contains("ln \\-sf"), "{examples}");
    }

    #[test]
    fn text_cannot_be_read_as_requests() {
        let mut roff = String::new();
        section(
            &mut roff,
            "T",
            ".d and 'x' -o a\\b\n    .hidden -v\n* CCACHE_X\nmore",
        );
        assert_eq!(
            roff,
            ".SH T\n\\&.d and \\*(Aqx\\*(Aq \\-o a\\eb\n.PP\n.RS 4\n.nf\n\\&.hidden \\-v\n.fi\n.RE\n.PP\n.TP\n\\fBCCACHE_X\\fR\nmore\n"
        );
    }
}
