//! The `.d` reading and rendering as they were before they were made
//! cheaper (one scan per name instead of a `String` each, no line
//! splitting): the oracle the faster code must match byte for byte.

use std::borrow::Cow;
use std::path::Path;

use super::super::make::Token;
use super::super::{emit, paths, words, Family, MakeRule, StoredDepfile, Style};

pub fn tokens(text: &str) -> Option<Vec<Token<'_>>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\n' => i += 1,
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => {
                if i > 0 && bytes[i - 1] != b' ' {
                    return None;
                }
                i += 2;
            }
            _ => {
                let (token, end) = token_at(text, i)?;
                out.push(token);
                i = end;
            }
        }
    }
    Some(out)
}

fn token_at(text: &str, start: usize) -> Option<(Token<'_>, usize)> {
    let bytes = text.as_bytes();
    let plain_end = bytes[start..]
        .iter()
        .position(|b| matches!(b, b' ' | b'\n' | b'\\' | b'$' | b'#' | b'\t' | b'\r'))
        .map_or(bytes.len(), |p| start + p);
    if matches!(bytes.get(plain_end), None | Some(b' ' | b'\n')) {
        let raw = &text[start..plain_end];
        let name = Cow::Borrowed(raw);
        return Some((Token { raw, name }, plain_end));
    }
    let mut name = bytes[start..plain_end].to_vec();
    let mut i = plain_end;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b' ' | b'\n', _) => break,
            (b'\\', Some(b' ')) => {
                let mut alt = name.clone();
                alt.push(b'\\');
                if Path::new(std::str::from_utf8(&alt).ok()?)
                    .symlink_metadata()
                    .is_ok()
                {
                    return None;
                }
                name.push(b' ');
                i += 2;
            }
            (b'\\', Some(b'#')) => {
                name.push(b'#');
                i += 2;
            }
            (b'$', Some(b'$')) => {
                name.push(b'$');
                i += 2;
            }
            (b'\\' | b'$' | b'#' | b'\t' | b'\r', _) => return None,
            (b, _) => {
                name.push(b);
                i += 1;
            }
        }
    }
    let name = Cow::Owned(String::from_utf8(name).ok()?);
    let raw = &text[start..i];
    Some((Token { raw, name }, i))
}

pub fn escape(name: &str) -> Option<String> {
    let special = |b: &u8| matches!(b, b' ' | b'#' | b'$' | b'\\' | b'\t' | b'\r' | b'\n');
    if !name.as_bytes().iter().any(special) {
        return Some(name.to_string());
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            ' ' => out.push_str("\\ "),
            '#' => out.push_str("\\#"),
            '$' => out.push_str("$$"),
            '\\' | '\t' | '\r' | '\n' => return None,
            _ => out.push(c),
        }
    }
    Some(out)
}

pub fn parse(body: &[u8]) -> Option<MakeRule<'_>> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.ends_with('\n') {
        return None;
    }
    let mut first_end = 0;
    for l in text.split_inclusive('\n') {
        first_end += l.len();
        if !l.ends_with("\\\n") {
            break;
        }
    }
    let rule = &text[..first_end];
    let colon = rule.find(": ").or_else(|| rule.find(":\n"))?;
    let targets = words(&rule[..colon]);
    let deps = tokens(&rule[colon + 1..])?;
    if deps.iter().any(|d| d.raw.ends_with(':')) {
        return None;
    }
    let mut phony_count = 0;
    for l in text[first_end..].split('\n').filter(|l| !l.is_empty()) {
        let name = l.strip_suffix(':')?;
        if !deps.iter().any(|d| d.raw == name) {
            return None;
        }
        phony_count += 1;
    }
    Some(MakeRule {
        targets,
        deps,
        phony: phony_count > 0,
    })
}

pub fn render(
    d: &StoredDepfile,
    cwd: &str,
    targets: &[String],
    base_dir: Option<&paths::BaseDirs>,
) -> Option<Vec<u8>> {
    if d.cwd == cwd && d.targets == targets.join(" ") {
        return Some(d.body.clone());
    }
    let style = d.style?;
    let parsed = parse(&d.body)?;
    let deps = parsed
        .deps
        .iter()
        .map(|t| match paths::relate(&t.name, &d.cwd, base_dir) {
            Some(rel) => escape(&rel.resolve(cwd)?),
            None => Some(t.raw.to_string()),
        })
        .collect::<Option<Vec<String>>>()?;
    let targets = d.in_written_order(targets)?;
    Some(emit(style, &targets, &deps, parsed.phony).into_bytes())
}

pub fn render_mapped(
    d: &StoredDepfile,
    cwd: &str,
    targets: &[String],
    base_dir: Option<&paths::BaseDirs>,
    family: Family,
    original: impl Fn(&str) -> Option<String>,
) -> Option<Vec<u8>> {
    let parsed = d.style.and_then(|style| Some((style, parse(&d.body)?)));
    let Some((style, parsed)) = parsed else {
        let body = render(d, cwd, targets, base_dir)?;
        return Some(map_back(&body, family, original).unwrap_or(body));
    };
    let verbatim = d.cwd == cwd && d.targets == targets.join(" ");
    let written = match verbatim {
        true => parsed.targets.clone(),
        false => d.in_written_order(targets)?,
    };
    let mut deps = Vec::with_capacity(parsed.deps.len());
    for t in &parsed.deps {
        let relocated = match verbatim {
            true => None,
            false => paths::relate(&t.name, &d.cwd, base_dir),
        };
        let token = match relocated {
            Some(rel) => {
                let name = rel.resolve(cwd)?;
                match original(&name).and_then(|o| escape(&o)) {
                    Some(m) => m,
                    None => escape(&name)?,
                }
            }
            None => match original(&t.name).and_then(|o| escape(&o)) {
                Some(m) => m,
                None => t.raw.to_string(),
            },
        };
        deps.push(token);
    }
    Some(emit(style, &written, &deps, parsed.phony).into_bytes())
}

fn style_of(parsed: &MakeRule, body: &[u8], family: Family) -> Option<Style> {
    let preferred = match family {
        Family::Gcc => [Style::Gcc, Style::Clang],
        Family::Clang => [Style::Clang, Style::Gcc],
    };
    preferred
        .into_iter()
        .find(|&s| emit(s, &parsed.targets, &parsed.raw_deps(), parsed.phony).as_bytes() == body)
}

pub fn map_back(
    body: &[u8],
    family: Family,
    original: impl Fn(&str) -> Option<String>,
) -> Option<Vec<u8>> {
    if let Some(parsed) = parse(body) {
        if let Some(style) = style_of(&parsed, body, family) {
            let mut changed = false;
            let deps: Vec<String> = parsed
                .deps
                .iter()
                .map(|d| match original(&d.name).and_then(|o| escape(&o)) {
                    Some(o) => {
                        changed = true;
                        o
                    }
                    None => d.raw.to_string(),
                })
                .collect();
            return changed.then(|| emit(style, &parsed.targets, &deps, parsed.phony).into_bytes());
        }
    }
    super::super::map_tokens_in_place(body, original)
}
