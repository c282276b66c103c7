//! Masking of passwords, tokens and header values in `remote_storage`
//! values and in messages about them, for `-p`, `-k`, logs and errors.
//! A word that may hold a secret and cannot be shown safely in part is
//! masked whole: showing too little is harmless, a password is not.

use super::is_url_start;

/// `scheme://user:password@host` → `scheme://user:********@host`, and
/// `redis+unix:/sock?pass=password` → `redis+unix:/sock?pass=********`.
pub fn mask_url(url: &str) -> String {
    mask_query(&mask_userinfo(url))
}

fn mask_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // `redis:/:pw@host`, a mistyped URL: everything up to its `@`.
        return match (url.split_once(':'), url.rfind('@')) {
            (Some((scheme, _)), Some(at)) => format!("{scheme}:********{}", &url[at..]),
            _ => url.to_string(),
        };
    };
    // Not a URL's scheme before `://` (`bearer-token=TOKEN://x`, which
    // the fuzzer found shown whole): no telling where a secret is in it.
    if !is_scheme(&url[..scheme_end]) {
        return "********".to_string();
    }
    let (head, rest) = url.split_at(scheme_end + 3);
    // The last `@` anywhere, not only in the authority: a password with
    // an unencoded `/`, `?` or `#` in it (`u:pa/ss@h`) would otherwise
    // be shown from that character on. A path with an `@` is masked too.
    let Some(at) = rest.rfind('@') else {
        return format!("{head}{}", mask_port(rest));
    };
    let masked = match rest[..at].split_once(':') {
        Some((user, _)) if !user.contains(['/', '?', '#']) => format!("{user}:********"),
        _ => "********".to_string(),
    };
    format!("{head}{masked}{}", &rest[at..])
}

/// `host:port` with a port that is no number (nor a shard's `*`) is what
/// is left of `user:password@host` cut at a space in the password
/// (`http://u:pa ss@h` is two words): the "port" is masked.
fn mask_port(rest: &str) -> String {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let port_start = match authority.strip_prefix('[') {
        Some(v6) => v6.find(']').map(|i| i + 2),
        None => Some(0),
    };
    let Some(colon) = port_start.and_then(|s| authority[s..].find(':').map(|i| s + i)) else {
        return rest.to_string();
    };
    let port = &authority[colon + 1..];
    if port.chars().all(|c| c.is_ascii_digit() || c == '*') {
        return rest.to_string();
    }
    format!("{}:********{}", &authority[..colon], &rest[end..])
}

/// RFC 3986: a letter, then letters, digits, `+`, `-` and `.`.
pub(super) fn is_scheme(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Query parameters shown as written; of `pass` and `password` the name
/// is shown, and any other is masked whole. The Redis client takes a Unix
/// socket's password as `?pass=` (it has no user info), which `-p` showed
/// until the fuzzer (tests/fuzz, remote_spec) found it; a password with an
/// `&` in it goes on as parameters of its own.
const PLAIN_QUERY_PARAMETERS: &[&str] = &["db", "protocol", "user"];

fn mask_query(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if PLAIN_QUERY_PARAMETERS.contains(&k) => p.to_string(),
            Some((k @ ("pass" | "password"), _)) => format!("{k}=********"),
            // Even the name: it may be the rest of a password.
            _ => "********".to_string(),
        })
        .collect();
    format!("{head}?{}", params.join("&"))
}

/// Attributes whose values are never secret.
const PLAIN_ATTRIBUTES: &[&str] = &[
    "connect-timeout",
    "data-timeout",
    "operation-timeout",
    "request-timeout",
    "layout",
    "umask",
    "update-mtime",
    "read-only",
    "shards",
    "keep-alive",
    "idle-timeout",
    "backfill",
    "region",
    "path-style",
    "profile",
    "ca-file",
];

/// Attributes whose names are shown, their values masked.
const SECRET_ATTRIBUTES: &[&str] = &[
    "bearer-token",
    "password",
    "access-key-id",
    "secret-access-key",
    "session-token",
];

/// Every attribute objcache's own backends read, for spotting typos.
pub(super) fn known_attributes() -> impl Iterator<Item = &'static str> {
    PLAIN_ATTRIBUTES
        .iter()
        .chain(SECRET_ATTRIBUTES)
        .chain(&["header", "endpoint", "helper"])
        .copied()
}

/// Whether `name` is an attribute objcache knows, which may be shown.
pub(super) fn is_attribute(name: &str) -> bool {
    name == "header"
        || name == "endpoint"
        || PLAIN_ATTRIBUTES.contains(&name)
        || SECRET_ATTRIBUTES.contains(&name)
}

/// A `remote_storage` value with passwords, tokens and header values masked,
/// for `-p`, `-k`, logs and error messages: URL credentials, `bearer-token`,
/// `header` values, the value of any attribute not known to be plain, and
/// any word that is no URL at all (a value with a space in it, cut apart).
pub fn mask_config_value(value: &str) -> String {
    value
        .split_whitespace()
        .map(|token| {
            token
                .split('|')
                .enumerate()
                .map(|(i, part)| {
                    let bare = part.strip_prefix('@').unwrap_or(part);
                    let at = if part.starts_with('@') { "@" } else { "" };
                    if i == 0 && is_url_start(bare) {
                        return format!("{at}{}", mask_url(bare));
                    }
                    // A flag (`read-only`), or a piece of a value cut
                    // apart at a space or at a `|` in a password.
                    if !bare.contains('=') && !PLAIN_ATTRIBUTES.contains(&bare) {
                        return "********".to_string();
                    }
                    match bare.split_once('=') {
                        // The header's name, when something ends it.
                        Some(("header", rest)) => match rest.split_once(['=', ':']) {
                            Some((name, _)) => format!("{at}header={name}=********"),
                            None => format!("{at}header=********"),
                        },
                        // A URL, shown as URLs are.
                        Some(("endpoint", url)) => format!("{at}endpoint={}", mask_url(url)),
                        Some((name, _)) if SECRET_ATTRIBUTES.contains(&name) => {
                            format!("{at}{name}=********")
                        }
                        // Not even the name of an attribute objcache does
                        // not know: `PA=SS@h` may be part of a password.
                        Some((name, _)) if !PLAIN_ATTRIBUTES.contains(&name) => {
                            "********".to_string()
                        }
                        _ => part.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Masks anything that looks like URL credentials inside an error message,
/// also a URL in quotes or parentheses.
pub fn mask_secrets(message: &str) -> String {
    message
        .split(' ')
        .map(mask_urls_in_word)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` with every URL in it masked. A URL may stand after a quote, a
/// parenthesis or an `@`, and end at a closing quote, parenthesis or
/// separator; any other text glued to a URL could be a secret (a fuzzed
/// `bearer-token=…redis://…`), so such a word is masked whole.
fn mask_urls_in_word(word: &str) -> String {
    const MARKERS: [&str; 4] = ["://", "file:", "redis+unix:", "crsh:"];
    let punctuation = |text: &str| {
        text.chars()
            .all(|c| matches!(c, '"' | '\'' | '(' | ')' | ',' | ';' | '@' | '.' | ':'))
    };
    let mut out = String::new();
    let mut rest = word;
    let mut masked_any = false;
    loop {
        let found = MARKERS
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, *m)))
            .min_by_key(|(at, _)| *at);
        let Some((at, marker)) = found else {
            if masked_any && !punctuation(rest) {
                return "********".into();
            }
            out.push_str(rest);
            return out;
        };
        // "://" follows its scheme; the other markers are schemes.
        let start = if marker == "://" {
            rest[..at]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
                .map_or(0, |(i, c)| i + c.len_utf8())
        } else {
            at
        };
        if !punctuation(&rest[..start]) {
            return "********".into();
        }
        let end = rest[at + marker.len()..]
            .find(['"', '\'', '(', ')', ',', ';'])
            .map_or(rest.len(), |i| at + marker.len() + i);
        out.push_str(&rest[..start]);
        out.push_str(&mask_url(&rest[start..end]));
        masked_any = true;
        rest = &rest[end..];
    }
}
