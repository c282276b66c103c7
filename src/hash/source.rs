//! The source file of a call, read once: its text, and what the keys and
//! checks need of it (`SourceFacts`). Deriving those facts means hashing
//! and scanning the whole text, a fifth of a hit's own work on a 60 KiB
//! source; for a source of 16 KiB or more whose identity (device, inode,
//! size, mode, mtime, ctime, and the file system's id, on a file system
//! that stamps its writes) the inode memo knows, they are recalled
//! instead, as ccache's inode cache recalls a source's digest.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::record::{self, TimeNames};
use crate::disk::inode_memo::{same_identity, settled, source_fs_id, Identity, InodeMemo};

/// Only a first part of the source is searched for the comment that keeps
/// it out of the cache, as in ccache.
const DISABLE_SEARCH_LIMIT: usize = 4096;

/// Smaller sources are derived from their text: opening the memo and
/// reading two of its slots costs about what scanning 16 KiB does.
const MEMO_MIN_SIZE: u64 = 16 * 1024;

/// The version of the facts' encoding in the memo; a slot of another
/// version reads as unknown.
const FACTS_VERSION: u8 = 1;

/// The comment that keeps a source out of the cache. Spelled in two
/// parts, so that objcache's own source does not disable itself.
fn disable_token() -> &'static [u8] {
    concat!("ccache", ":disable").as_bytes()
}

/// What the keys and checks take from the source's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceFacts {
    /// The BLAKE3 digest of the text (the inode memo's digest of a file).
    pub digest: [u8; 32],
    /// The time macros it names.
    pub names: TimeNames,
    /// It names `__FILE__` or `__BASE_FILE__`.
    pub file_macro: bool,
    /// It holds an escape byte (which gcc's diagnostics may echo).
    pub escape_byte: bool,
    /// Its first 4 KiB ask not to be cached (`ccache:disable`).
    pub disabled: bool,
}

impl SourceFacts {
    pub fn of(text: &[u8]) -> SourceFacts {
        let head = &text[..text.len().min(DISABLE_SEARCH_LIMIT)];
        let token = disable_token();
        let (names, file_macro) = record::source_macros(text);
        SourceFacts {
            digest: *blake3::hash(text).as_bytes(),
            names,
            file_macro,
            escape_byte: text.contains(&0x1b),
            disabled: head.windows(token.len()).any(|w| w == token),
        }
    }

    const FLAGS: [fn(&SourceFacts) -> bool; 5] = [
        |f| f.names.date,
        |f| f.names.clock,
        |f| f.file_macro,
        |f| f.escape_byte,
        |f| f.disabled,
    ];

    /// The flags as a memo slot holds them (the digest has a slot of its own).
    fn encode(&self) -> [u8; 32] {
        let mut slot = [0; 32];
        slot[0] = FACTS_VERSION;
        for (bit, flag) in Self::FLAGS.iter().enumerate() {
            slot[1] |= u8::from(flag(self)) << bit;
        }
        slot
    }

    fn decode(digest: [u8; 32], slot: &[u8; 32]) -> Option<SourceFacts> {
        let known = (1u8 << Self::FLAGS.len()) - 1;
        if slot[0] != FACTS_VERSION || slot[1] & !known != 0 || slot[2..] != [0; 30] {
            return None;
        }
        let bit = |n: u8| slot[1] & (1 << n) != 0;
        Some(SourceFacts {
            digest,
            names: TimeNames {
                date: bit(0),
                clock: bit(1),
            },
            file_macro: bit(2),
            escape_byte: bit(3),
            disabled: bit(4),
        })
    }
}

/// A source as read by `read`.
#[derive(Default)]
pub struct Source {
    /// Its text (`None`: it could not be read).
    pub text: Option<Vec<u8>>,
    /// What was taken from the text, or recalled for it.
    pub facts: Option<SourceFacts>,
    /// The facts came from the memo.
    pub recalled: bool,
}

/// Reads the source at `path` through one descriptor. Its facts come from
/// `memo` when it knows the file's identity, which stayed the same while
/// the text was read; otherwise they are derived from the text and
/// remembered if the file is settled at `coarse_start_ns`, so that a
/// later write gives it another identity.
pub fn read(path: &Path, memo: Option<&InodeMemo>, coarse_start_ns: i64) -> Source {
    let Ok((file, before)) = crate::files::open_regular_file_meta(path) else {
        return Source::default();
    };
    let Some(text) = read_all(&file, before.len()) else {
        return Source::default();
    };
    let unchanged = || file.metadata().ok().filter(|m| same_identity(&before, m));
    let usable = memo
        .filter(|_| before.len() >= MEMO_MIN_SIZE)
        .and_then(|memo| Some((memo, source_fs_id(&file)?, unchanged()?)));
    let Some((memo, fs_id, after)) = usable else {
        return derived(text);
    };
    let [digest_id, facts_id] = Identity::of_source(&after, fs_id);
    let recalled = memo.recall(&digest_id).and_then(|digest| {
        let slot = memo.recall(&facts_id)?;
        SourceFacts::decode(digest, &slot)
    });
    if let Some(facts) = recalled {
        return Source {
            text: Some(text),
            facts: Some(facts),
            recalled: true,
        };
    }
    let facts = SourceFacts::of(&text);
    if settled(&after, coarse_start_ns) {
        memo.remember(&digest_id, &facts.digest);
        memo.remember(&facts_id, &facts.encode());
    }
    Source {
        text: Some(text),
        facts: Some(facts),
        recalled: false,
    }
}

/// The file's text, `len` bytes by its metadata, or more if it grew: read
/// directly, as `read_to_end` would `stat` again for the size and read in
/// growing steps.
fn read_all(mut file: &fs::File, len: u64) -> Option<Vec<u8>> {
    let mut text = vec![0; usize::try_from(len).ok()?.checked_add(1)?];
    let mut n = 0;
    loop {
        match file.read(&mut text[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
        if n == text.len() {
            text.resize(n * 2, 0);
        }
    }
    text.truncate(n);
    Some(text)
}

fn derived(text: Vec<u8>) -> Source {
    Source {
        facts: Some(SourceFacts::of(&text)),
        text: Some(text),
        recalled: false,
    }
}

#[cfg(test)]
mod tests;
