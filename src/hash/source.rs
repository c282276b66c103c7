//! The source file of a call, read once: its text, and what the keys and
//! checks need of it (`SourceFacts`). Deriving those facts means hashing
//! and scanning the whole text, a fifth of a hit's own work on a 60 KiB
//! source; for a source of 16 KiB or more whose identity (device, inode,
//! size, mode, mtime, ctime, and the file system's id, on a file system
//! that stamps its writes) the inode memo knows, they are recalled
//! instead, as ccache's inode cache recalls a source's digest; and then
//! only the text's first part is read (`Text`), the rest when it is needed.

use std::cell::OnceCell;
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

/// How much of a source whose facts are recalled is read: on a hit, the
/// text serves only to find its first `#include`s (`compiler::pch`). The
/// first 4 KiB decide them for 214 of 215 C sources of 16 KiB or more
/// measured (zstd, lua, zlib, libgit2, pcre2; all of them by 2 KiB but
/// for licences of 2 to 4 KiB); one that needs more is read whole then.
const HEAD_SIZE: usize = 4096;
const _: () = assert!(HEAD_SIZE as u64 <= MEMO_MIN_SIZE);

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
    pub text: Option<Text>,
    /// What was taken from the text, or recalled for it.
    pub facts: Option<SourceFacts>,
    /// The facts came from the memo.
    pub recalled: bool,
}

/// A source's text as `read` read it: all of it, or, when its facts were
/// recalled, only the first `HEAD_SIZE` bytes, which is all a hit usually
/// needs (the scan of its first `#include`s); the rest is read when asked
/// for.
pub struct Text {
    /// What was read.
    read: Vec<u8>,
    /// `None`: `read` is all of the text.
    rest: Option<Rest>,
    /// All of the text, once read after `read` (`None` in it: the file no
    /// longer holds the text the facts were recalled for).
    whole: OnceCell<Option<Vec<u8>>>,
}

/// How the rest of a text of which only a first part was read is read and
/// checked: through the descriptor the part was read by, as the text the
/// recalled facts describe.
struct Rest {
    file: fs::File,
    len: u64,
    digest: [u8; 32],
}

impl Text {
    /// All of a text.
    pub fn all(text: Vec<u8>) -> Text {
        Text {
            read: text,
            rest: None,
            whole: OnceCell::new(),
        }
    }

    /// What was read, and whether that is all of the text.
    pub fn read(&self) -> (&[u8], bool) {
        (&self.read, self.rest.is_none())
    }

    /// All of the text: read now (once) if only a first part was. `None`
    /// when the file no longer holds the text the facts were recalled for,
    /// so that nothing is taken from another text than the keys are.
    pub fn whole(&self) -> Option<&[u8]> {
        let Some(rest) = &self.rest else {
            return Some(&self.read);
        };
        let whole = self.whole.get_or_init(|| {
            let mut text = self.read.clone();
            // One byte more than the recalled length shows a file that grew.
            let limit = usize::try_from(rest.len).ok()?.checked_add(1)?;
            read_at_most(&rest.file, &mut text, limit)?;
            let same =
                text.len() as u64 == rest.len && *blake3::hash(&text).as_bytes() == rest.digest;
            same.then_some(text)
        });
        whole.as_deref()
    }

    /// Whether the file at `path`, read again, still holds this text. It is
    /// opened without blocking and read only if regular, and only up to one
    /// byte more than the text: a FIFO or a huge file put in its place
    /// while the call waited reads as another text at once.
    pub fn held_by(&self, path: &Path) -> bool {
        let Ok((file, _)) = crate::files::open_regular_file_meta(path) else {
            return false;
        };
        let len = self.rest.as_ref().map_or(self.read.len() as u64, |r| r.len);
        let Some(limit) = usize::try_from(len).ok().and_then(|n| n.checked_add(1)) else {
            return false;
        };
        let mut now = Vec::new();
        read_at_most(&file, &mut now, limit).is_some() && self.is(&now)
    }

    /// Whether all of the text was read (at once, or since by `whole`).
    pub fn whole_is_read(&self) -> bool {
        self.rest.is_none() || self.whole.get().is_some()
    }

    /// Whether `now` (the file read again) is this text: compared with it,
    /// or with the digest it was recalled by when only a part was read.
    pub fn is(&self, now: &[u8]) -> bool {
        match (&self.rest, self.whole.get()) {
            (None, _) => now == self.read,
            (Some(_), Some(Some(whole))) => now == whole,
            (Some(rest), _) => {
                now.len() as u64 == rest.len && *blake3::hash(now).as_bytes() == rest.digest
            }
        }
    }

    /// All of the text, if it was read.
    pub fn into_whole(self) -> Option<Vec<u8>> {
        match self.rest {
            None => Some(self.read),
            Some(_) => self.whole.into_inner().flatten(),
        }
    }
}

/// Reads the source at `path` through one descriptor. Its facts come from
/// `memo` when it knows the file's identity, which stayed the same while
/// the text was read: then only the text's first part is read. Otherwise
/// they are derived from the whole text and remembered if the file is
/// settled at `coarse_start_ns`, so that a later write gives it another
/// identity.
pub fn read(path: &Path, memo: Option<&InodeMemo>, coarse_start_ns: i64) -> Source {
    let Ok((file, before)) = crate::files::open_regular_file_meta(path) else {
        return Source::default();
    };
    let unchanged = |file: &fs::File| file.metadata().ok().filter(|m| same_identity(&before, m));
    let known = memo
        .filter(|_| before.len() >= MEMO_MIN_SIZE)
        .and_then(|memo| Some((memo, Identity::of_source(&before, source_fs_id(&file)?))));
    if let Some(facts) = known.as_ref().and_then(|(memo, ids)| recall(memo, ids)) {
        return read_head(file, before.len(), facts, unchanged);
    }
    let Some(text) = read_all(&file, before.len()) else {
        return Source::default();
    };
    let Some(((memo, [digest_id, facts_id]), after)) = known.zip(unchanged(&file)) else {
        return derived(text);
    };
    let facts = SourceFacts::of(&text);
    if settled(&after, coarse_start_ns) {
        memo.remember(&digest_id, &facts.digest);
        memo.remember(&facts_id, &facts.encode());
    }
    Source {
        text: Some(Text::all(text)),
        facts: Some(facts),
        recalled: false,
    }
}

/// The facts the memo holds for a source's identity.
fn recall(memo: &InodeMemo, [digest_id, facts_id]: &[Identity; 2]) -> Option<SourceFacts> {
    let digest = memo.recall(digest_id)?;
    SourceFacts::decode(digest, &memo.recall(facts_id)?)
}

/// A source of `len` bytes whose `facts` were recalled: only its first
/// part is read, if the file is `unchanged` after that; if it changed, all
/// of it again, for facts derived from what was read.
fn read_head(
    file: fs::File,
    len: u64,
    facts: SourceFacts,
    unchanged: impl Fn(&fs::File) -> Option<fs::Metadata>,
) -> Source {
    let mut text = Vec::with_capacity(HEAD_SIZE);
    if read_at_most(&file, &mut text, HEAD_SIZE).is_none() {
        return Source::default();
    }
    if text.len() == HEAD_SIZE && unchanged(&file).is_some() {
        let rest = Rest {
            file,
            len,
            digest: facts.digest,
        };
        return Source {
            text: Some(Text {
                read: text,
                rest: Some(rest),
                whole: OnceCell::new(),
            }),
            facts: Some(facts),
            recalled: true,
        };
    }
    // `pread` left the descriptor's offset at the start.
    read_all(&file, len).map_or_else(Source::default, derived)
}

/// Reads from `file` after the `text.len()` bytes already in `text`, up to
/// `limit` bytes in all or to its end, through `pread`: the same bytes
/// whatever the descriptor's offset.
fn read_at_most(file: &fs::File, text: &mut Vec<u8>, limit: usize) -> Option<()> {
    use std::os::unix::fs::FileExt;
    let start = text.len();
    text.resize(limit.max(start), 0);
    let mut n = start;
    while n < text.len() {
        match file.read_at(&mut text[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    text.truncate(n);
    Some(())
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
        text: Some(Text::all(text)),
        recalled: false,
    }
}

#[cfg(test)]
mod tests;
