//! Dependency (`.d`) files on a hit.
//!
//! The `.d` the compiler wrote is stored verbatim with the working directory
//! and make target it was written for. A hit in the same directory for the
//! same target gets those bytes back. A hit elsewhere (a relocated checkout
//! under base_dir, or another object name) gets the file the compiler would
//! have written there: paths under base_dir are re-rooted at this working
//! directory, the target is this call's, and the lines are wrapped as the
//! compiler wraps them. That last step is only taken when re-emitting the
//! stored file reproduced it byte for byte when it was stored; otherwise the
//! hit is declined and the call compiles, so a `.d` is never approximate.
//! When the compiler ran with base_dir-relative paths, the result is then
//! given the spelling of the call's own arguments (`relative::PathMap`).

use std::borrow::Cow;

use crate::compiler::Family;
use crate::paths;

mod make;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Gcc,
    Clang,
}

#[derive(Debug, PartialEq)]
pub struct StoredDepfile {
    cwd: String,
    targets: String,
    style: Option<Style>,
    /// Where the compiler put the call's targets in its rule, when not in
    /// the call's order (see `written_order`): the `i`-th target written
    /// is the call's `order[i]`-th. Empty: in the call's order.
    order: Vec<usize>,
    body: Vec<u8>,
}

/// The first rule of a `.d`, and whether phony targets for its
/// dependencies follow it (`-MP`).
struct MakeRule<'a> {
    /// As the compiler wrote them (quoted for `-MQ`, verbatim for `-MT`).
    targets: Vec<&'a str>,
    deps: Vec<make::Token<'a>>,
    phony: bool,
}

impl MakeRule<'_> {
    fn raw_deps(&self) -> Vec<&str> {
        self.deps.iter().map(|d| d.raw).collect()
    }
}

/// The files a compiler's `.d` names as dependencies of its first rule,
/// unescaped; `None` when the file is not in the form gcc and clang write
/// (see `make`): then which files it names is not certain. `phony`: the
/// compile was asked for `-MP`. Without it, nothing may follow the rule: a
/// name with a newline (`-I 'Q/h<newline>Q'` and `#include "h:"` gives
/// `Q/h<newline>Q/h:`) would otherwise read as the name `Q/h` and its
/// phony target, and the header read would be left out of the key.
pub fn dependencies(body: &[u8], phony: bool) -> Option<Vec<String>> {
    let rule = parse(body)?;
    if rule.phony && !phony {
        return None;
    }
    Some(rule.deps.into_iter().map(|d| d.name.into_owned()).collect())
}

/// Version 2: the body is the `.d` as the compiler wrote it for the
/// arguments it ran with (base_dir paths relative), not the user's spelling.
const MAGIC: &str = "objcache-dep-2";

impl StoredDepfile {
    /// Keeps a `.d` the compiler just wrote for `targets` in `cwd`.
    pub fn new(body: Vec<u8>, cwd: &str, targets: &[String], family: Family) -> StoredDepfile {
        let fit = parse(&body).and_then(|p| {
            let order = written_order(&p.targets, targets)?;
            Some((style_of(&p, &body, family)?, order))
        });
        let (style, order) = match fit {
            Some((style, order)) => (Some(style), order),
            None => (None, Vec::new()),
        };
        StoredDepfile {
            cwd: cwd.to_string(),
            targets: targets.join(" "),
            style,
            order,
            body,
        }
    }

    /// The style's name, then the order of the targets when it is not
    /// the call's (`gcc 1,0`). A reader that knows only the name takes
    /// the line as no style at all: the `.d` is then served only to the
    /// call it was written for.
    fn style_line(&self) -> String {
        let name = match self.style {
            Some(Style::Gcc) => "gcc",
            Some(Style::Clang) => "clang",
            None => "verbatim",
        };
        if self.order.is_empty() {
            return name.to_string();
        }
        let order: Vec<String> = self.order.iter().map(usize::to_string).collect();
        format!("{name} {}", order.join(","))
    }

    /// This call's `targets` in the places the compiler put the stored
    /// call's; `None` when their number differs.
    fn in_written_order<'t>(&self, targets: &'t [String]) -> Option<Vec<&'t str>> {
        if self.order.is_empty() {
            return Some(targets.iter().map(String::as_str).collect());
        }
        if targets.len() != self.order.len() {
            return None;
        }
        Some(self.order.iter().map(|&i| targets[i].as_str()).collect())
    }

    /// The format and the fields stored before the body, as `--inspect`
    /// shows them.
    pub fn fields(&self) -> [(&'static str, String); 4] {
        [
            ("format", MAGIC.to_string()),
            ("cwd", self.cwd.clone()),
            ("targets", self.targets.clone()),
            ("style", self.style_line()),
        ]
    }

    /// The `.d` as the compiler wrote it.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn encode(&self) -> Vec<u8> {
        let style = self.style_line();
        // One line per field, but a directory (or a `-MT` target) may be
        // named with a newline in it: one would end its line early and the
        // rest would be read as the next fields, a `.d` for another cwd.
        // Neither can hold a NUL (both come from C strings), so a newline is
        // stored as one; files without newlines read as before.
        let line = |s: &str| s.replace('\n', "\0");
        let mut out = format!(
            "{MAGIC}\n{}\n{}\n{style}\n",
            line(&self.cwd),
            line(&self.targets)
        )
        .into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<StoredDepfile> {
        let mut rest = bytes;
        let mut line = || -> Option<&str> {
            let nl = rest.iter().position(|&b| b == b'\n')?;
            let l = std::str::from_utf8(&rest[..nl]).ok()?;
            rest = &rest[nl + 1..];
            Some(l)
        };
        if line()? != MAGIC {
            return None;
        }
        let cwd = line()?.replace('\0', "\n");
        let targets = line()?.replace('\0', "\n");
        let (style, order) = read_style_line(line()?);
        Some(StoredDepfile {
            cwd,
            targets,
            style,
            order,
            body: rest.to_vec(),
        })
    }

    /// The `.d` for this call, or `None` when it cannot be produced exactly.
    pub fn render(
        &self,
        cwd: &str,
        targets: &[String],
        base_dir: Option<&paths::BaseDirs>,
    ) -> Option<Vec<u8>> {
        if self.cwd == cwd && is_joined(&self.targets, targets) {
            return Some(self.body.clone());
        }
        let style = self.style?;
        let parsed = parse(&self.body)?;
        let deps = parsed
            .deps
            .iter()
            .map(|d| match paths::relate(&d.name, &self.cwd, base_dir) {
                Some(rel) => make::escape_owned(rel.resolve(cwd)?).map(Cow::Owned),
                None => Some(Cow::Borrowed(d.raw)),
            })
            .collect::<Option<Vec<Cow<str>>>>()?;
        let targets = self.in_written_order(targets)?;
        Some(emit(style, &targets, &deps, parsed.phony).into_bytes())
    }
}

impl StoredDepfile {
    /// `render`, then `map_back` of the result with `original`, taking
    /// the stored style instead of finding it again: one parse and one
    /// emit on a hit. The names no one maps are written as they were
    /// read, without a copy each.
    pub fn render_mapped(
        &self,
        cwd: &str,
        targets: &[String],
        base_dir: Option<&paths::BaseDirs>,
        family: Family,
        original: impl Fn(&str) -> Option<String>,
    ) -> Option<Vec<u8>> {
        let parsed = self
            .style
            .and_then(|style| Some((style, parse(&self.body)?)));
        let Some((style, parsed)) = parsed else {
            let body = self.render(cwd, targets, base_dir)?;
            return Some(map_back(&body, family, original).unwrap_or(body));
        };
        // As `render`: the stored names as they are for the cwd and
        // targets they were written for, re-rooted otherwise.
        let verbatim = self.cwd == cwd && is_joined(&self.targets, targets);
        let written = match verbatim {
            true => parsed.targets.clone(),
            false => self.in_written_order(targets)?,
        };
        let mapped = |name: &str| original(name).and_then(make::escape_owned);
        let mut deps: Vec<Cow<str>> = Vec::with_capacity(parsed.deps.len());
        for d in &parsed.deps {
            let relocated = match verbatim {
                true => None,
                false => paths::relate(&d.name, &self.cwd, base_dir),
            };
            let token = match relocated {
                Some(rel) => {
                    let name = rel.resolve(cwd)?;
                    match mapped(&name) {
                        Some(m) => Cow::Owned(m),
                        None => Cow::Owned(make::escape_owned(name)?),
                    }
                }
                None => mapped(&d.name).map_or(Cow::Borrowed(d.raw), Cow::Owned),
            };
            deps.push(token);
        }
        Some(emit(style, &written, &deps, parsed.phony).into_bytes())
    }
}

/// Whether `joined` is `parts` joined by spaces, without joining them.
fn is_joined(joined: &str, parts: &[String]) -> bool {
    let mut rest = joined;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            match rest.strip_prefix(' ') {
                Some(r) => rest = r,
                None => return false,
            }
        }
        match rest.strip_prefix(part.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The style and the order of the targets a stored style line names
/// (see `StoredDepfile::style_line`); no style for a line not understood
/// or an order that is not one of all the targets.
fn read_style_line(line: &str) -> (Option<Style>, Vec<usize>) {
    let (name, order) = match line.split_once(' ') {
        Some((name, order)) => (name, Some(order)),
        None => (line, None),
    };
    let style = match name {
        "gcc" => Style::Gcc,
        "clang" => Style::Clang,
        _ => return (None, Vec::new()),
    };
    let Some(order) = order else {
        return (Some(style), Vec::new());
    };
    let order: Option<Vec<usize>> = order.split(',').map(|n| n.parse().ok()).collect();
    match order {
        Some(order) if is_reordering(&order) => (Some(style), order),
        _ => (None, Vec::new()),
    }
}

/// Is `order` each of `0..len` once, and not in its own order?
fn is_reordering(order: &[usize]) -> bool {
    let mut seen = vec![false; order.len()];
    for &i in order {
        match seen.get_mut(i) {
            Some(s) if !*s => *s = true,
            _ => return false,
        }
    }
    order.iter().enumerate().any(|(i, &j)| i != j)
}

/// Where the compiler put the call's `targets` among the targets it
/// wrote (`written`, as `words` reads them): empty when in the call's
/// order, else the call's index of each target written. gcc writes the
/// `-MT` targets before the `-MQ` ones and moves `-MQ` ones among
/// themselves; clang keeps the order given. Either depends only on which
/// options named the targets, which the key holds, so a hit for other
/// targets puts its own in the same places. `None` when that cannot be
/// told: among several targets, two the same or one that is not a single
/// word (`-MT 'a b'`), or targets that are not those written.
fn written_order(written: &[&str], targets: &[String]) -> Option<Vec<usize>> {
    if targets.len() <= 1 {
        return (written.join(" ") == targets.join(" ")).then(Vec::new);
    }
    let words_alone = targets.iter().all(|t| words(t) == [t.as_str()]);
    let distinct = (1..targets.len()).all(|i| !targets[..i].contains(&targets[i]));
    if !words_alone || !distinct || written.len() != targets.len() {
        return None;
    }
    let order: Vec<usize> = written
        .iter()
        .map(|w| targets.iter().position(|t| t == w))
        .collect::<Option<_>>()?;
    let each_once = (1..order.len()).all(|i| !order[..i].contains(&order[i]));
    match each_once {
        true if is_reordering(&order) => Some(order),
        true => Some(Vec::new()),
        false => None,
    }
}

/// The style that re-emits `parsed` as exactly `body`, if any.
fn style_of(parsed: &MakeRule, body: &[u8], family: Family) -> Option<Style> {
    let preferred = match family {
        Family::Gcc => [Style::Gcc, Style::Clang],
        Family::Clang => [Style::Clang, Style::Gcc],
    };
    preferred
        .into_iter()
        .find(|&s| emit(s, &parsed.targets, &parsed.raw_deps(), parsed.phony).as_bytes() == body)
}

/// The `.d` a compiler wrote for base_dir-relative arguments, as it would
/// have written it for the user's own: each dependency `original` maps is
/// replaced, and the rule is wrapped again as the compiler wraps it (the
/// lengths changed). `None` when no dependency changed. A file in a shape
/// not recognised has its dependencies replaced where they stand.
pub fn map_back(
    body: &[u8],
    family: Family,
    original: impl Fn(&str) -> Option<String>,
) -> Option<Vec<u8>> {
    if let Some(parsed) = parse(body) {
        if let Some(style) = style_of(&parsed, body, family) {
            let mut changed = false;
            let deps: Vec<Cow<str>> = parsed
                .deps
                .iter()
                .map(|d| match original(&d.name).and_then(make::escape_owned) {
                    Some(o) => {
                        changed = true;
                        Cow::Owned(o)
                    }
                    None => Cow::Borrowed(d.raw),
                })
                .collect();
            return changed.then(|| emit(style, &parsed.targets, &deps, parsed.phony).into_bytes());
        }
    }
    map_tokens_in_place(body, original)
}

/// Replaces the dependency tokens (after the first rule's targets) that
/// `original` maps, leaving every other byte as it is.
fn map_tokens_in_place(body: &[u8], original: impl Fn(&str) -> Option<String>) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let colon = text.find(": ").or_else(|| text.find(":\n"))?;
    let mut out = String::with_capacity(text.len() + 256);
    out.push_str(&text[..=colon]);
    let mut changed = false;
    let bytes = text.as_bytes();
    let mut i = colon + 1;
    while i < text.len() {
        let starts_token = !bytes[i].is_ascii_whitespace()
            && bytes[i - 1].is_ascii_whitespace()
            && !(i >= 2 && bytes[i - 2] == b'\\' && bytes[i - 1] != b'\n');
        if starts_token {
            let end = text[i..]
                .find(|c: char| c.is_ascii_whitespace())
                .map_or(text.len(), |p| i + p);
            let raw = &text[i..end];
            // A name with make escapes is not one `original` knows; a
            // mapped one is escaped as the compilers write it.
            let plain = !raw.contains(['\\', '$', '#']);
            if let Some(mapped) = plain
                .then(|| original(raw).and_then(make::escape_owned))
                .flatten()
            {
                out.push_str(&mapped);
                changed = true;
                i = end;
                continue;
            }
        }
        let ch = text[i..].chars().next()?;
        out.push(ch);
        i += ch.len_utf8();
    }
    changed.then(|| out.into_bytes())
}

/// Reads the first make rule a compiler writes and the phony targets
/// `-MP` adds after it; `None` for anything else after the rule (a name
/// with a newline in it would end the rule early) or a dependency not in
/// make's escaping as gcc and clang write it (see `make`).
fn parse(body: &[u8]) -> Option<MakeRule<'_>> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.ends_with('\n') {
        return None;
    }
    let first_end = make::first_rule_end(text.as_bytes());
    let rule = &text[..first_end];
    let colon = rule.find(": ").or_else(|| rule.find(":\n"))?;
    let targets = words(&rule[..colon]);
    let deps = make::tokens(&rule[colon + 1..])?;
    // A name ending in `:` would be a rule of its own to make.
    if deps.iter().any(|d| d.raw.ends_with(':')) {
        return None;
    }
    let phony = make::phony_targets_of(&text[first_end..], &deps)?;
    Some(MakeRule {
        targets,
        deps,
        phony,
    })
}

/// The targets of a rule as written: separated by spaces and
/// continuations, a `\ ` kept inside its name.
fn words(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped = i > 0 && bytes[i - 1] == b'\\';
        let separates = (b == b' ' && !escaped) || b == b'\n';
        let continuation = b == b'\\' && bytes.get(i + 1) == Some(&b'\n');
        match (separates || continuation, start) {
            (true, Some(s)) => {
                out.push(&text[s..i]);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// Writes a make rule the way gcc (72 columns) or clang (75 columns) does.
fn emit<S: AsRef<str>, T: AsRef<str>>(
    style: Style,
    targets: &[S],
    deps: &[T],
    phony: bool,
) -> String {
    // Each name, a separator, at most a continuation before it, and its
    // phony rule.
    let copies = 1 + usize::from(phony);
    let names: usize = targets.iter().map(|t| t.as_ref().len() + 5).sum::<usize>()
        + deps
            .iter()
            .map(|d| d.as_ref().len() * copies + 8)
            .sum::<usize>();
    let mut out = String::with_capacity(names + 2);
    match style {
        Style::Gcc => {
            const MAX: usize = 72;
            let mut col = 0;
            let put = |out: &mut String, col: &mut usize, name: &str| {
                if *col > 0 {
                    if *col + name.len() > MAX {
                        out.push_str(" \\\n");
                        *col = 0;
                    }
                    *col += 1;
                    out.push(' ');
                }
                *col += name.len();
                out.push_str(name);
            };
            for t in targets {
                put(&mut out, &mut col, t.as_ref());
            }
            out.push(':');
            col += 1;
            for d in deps {
                put(&mut out, &mut col, d.as_ref());
            }
            out.push('\n');
            if phony {
                for d in deps.iter().skip(1) {
                    out.push_str(d.as_ref());
                    out.push_str(":\n");
                }
            }
        }
        Style::Clang => {
            const MAX: usize = 75;
            let mut col = 0;
            for t in targets {
                let n = t.as_ref().len();
                if col == 0 {
                    col = n;
                } else if col + n + 2 > MAX {
                    col = n + 2;
                    out.push_str(" \\\n  ");
                } else {
                    col += n + 1;
                    out.push(' ');
                }
                out.push_str(t.as_ref());
            }
            out.push(':');
            col += 1;
            for d in deps {
                let n = d.as_ref().len();
                if col + n + 1 + 2 > MAX {
                    out.push_str(" \\\n ");
                    col = 2;
                }
                out.push(' ');
                out.push_str(d.as_ref());
                col += n + 1;
            }
            out.push('\n');
            if phony {
                for d in deps.iter().skip(1) {
                    out.push('\n');
                    out.push_str(d.as_ref());
                    out.push_str(":\n");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
