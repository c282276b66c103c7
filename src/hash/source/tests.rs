use super::*;
use crate::clock::coarse_now_ns;
use std::fs;

fn all_facts() -> Vec<SourceFacts> {
    let texts: [&[u8]; 6] = [
        b"int x;\n",
        b"const char *d = __DATE__;\n",
        b"const char *t = __TIME__, *s = __TIMESTAMP__;\n",
        b"const char *f = __FILE__;\n",
        b"/* \x1b[31m */\n",
        b"/* ccache:disable */\n",
    ];
    texts.iter().map(|t| SourceFacts::of(t)).collect()
}

#[test]
fn facts_are_taken_from_the_text() {
    let f = all_facts();
    assert_eq!(f[0].digest, *blake3::hash(b"int x;\n").as_bytes());
    assert!(!f[0].names.date && !f[0].names.clock && !f[0].file_macro);
    assert!(f[1].names.date && !f[1].names.clock);
    assert!(f[2].names.clock && !f[2].names.date);
    assert!(f[3].file_macro);
    assert!(f[4].escape_byte && !f[0].escape_byte);
    assert!(f[5].disabled && !f[0].disabled);
    let late = [vec![b' '; DISABLE_SEARCH_LIMIT], b"ccache:disable".to_vec()].concat();
    assert!(!SourceFacts::of(&late).disabled);
}

#[test]
fn encoded_facts_decode_to_the_same() {
    for facts in all_facts() {
        assert_eq!(
            SourceFacts::decode(facts.digest, &facts.encode()),
            Some(facts)
        );
    }
    let mut slot = all_facts()[1].encode();
    slot[0] = FACTS_VERSION + 1;
    assert_eq!(SourceFacts::decode([0; 32], &slot), None, "another version");
    let mut slot = all_facts()[1].encode();
    slot[1] |= 0x80;
    assert_eq!(SourceFacts::decode([0; 32], &slot), None, "an unknown flag");
}

/// A source large enough for the memo, stamped well before now.
fn settled_source(dir: &Path, text: &[u8]) -> std::path::PathBuf {
    let path = dir.join("s.c");
    fs::write(&path, text).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    path
}

fn big(text: &[u8]) -> Vec<u8> {
    [vec![b'\n'; MEMO_MIN_SIZE as usize], text.to_vec()].concat()
}

#[test]
fn a_settled_source_is_recalled_and_a_changed_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let memo = InodeMemo::new(dir.path(), true);
    let text = big(b"const char *d = __DATE__;\n");
    let path = settled_source(dir.path(), &text);
    // The ctime is now: settled only a tick later.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let first = read(&path, Some(&memo), coarse_now_ns());
    assert!(!first.recalled);
    assert_eq!(first.text.as_ref().map(Text::read), Some((&text[..], true)));
    let second = read(&path, Some(&memo), coarse_now_ns());
    assert!(second.recalled, "the memo knows the settled source");
    assert_eq!(second.facts, first.facts);
    assert_eq!(second.facts, Some(SourceFacts::of(&text)));

    // The same size, the same mtime: only the ctime and the text differ.
    let other = big(b"const char *t = __TIME__;\n");
    let other = &other[..text.len()];
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    fs::write(&path, other).unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let third = read(&path, Some(&memo), coarse_now_ns());
    assert!(!third.recalled);
    assert_eq!(third.facts, Some(SourceFacts::of(other)));
}

#[test]
fn an_unsettled_or_small_source_is_never_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let memo = InodeMemo::new(dir.path(), true);
    let path = dir.path().join("s.c");
    fs::write(&path, big(b"int x;\n")).unwrap();
    // Read in the tick it was written: not remembered.
    let start = coarse_now_ns() - 1_000_000_000;
    assert!(!read(&path, Some(&memo), start).recalled);
    assert!(!read(&path, Some(&memo), start).recalled);
    let small = settled_source(dir.path(), b"int x;\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(!read(&small, Some(&memo), coarse_now_ns()).recalled);
    let again = read(&small, Some(&memo), coarse_now_ns());
    assert!(!again.recalled, "a small source is derived from its text");
    assert_eq!(again.facts, Some(SourceFacts::of(b"int x;\n")));
}

#[test]
fn an_unreadable_source_has_no_facts() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read(&dir.path().join("gone.c"), None, 0);
    assert!(missing.text.is_none() && missing.facts.is_none());
    let directory = read(dir.path(), None, 0);
    assert!(directory.text.is_none() && directory.facts.is_none());
}

#[test]
fn a_source_longer_than_its_metadata_said_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.c");
    let text: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&path, &text).unwrap();
    let file = fs::File::open(&path).unwrap();
    for said in [0, 1, 4096, 99_999, 100_000, 200_000] {
        let mut f = &file;
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).unwrap();
        assert_eq!(read_all(&file, said).as_deref(), Some(&text[..]), "{said}");
    }
}

/// A source whose facts the memo recalls, and the memo that does.
fn recalled_source(dir: &Path, text: &[u8]) -> (std::path::PathBuf, InodeMemo) {
    let memo = InodeMemo::new(dir, true);
    let path = settled_source(dir, text);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(!read(&path, Some(&memo), coarse_now_ns()).recalled);
    (path, memo)
}

#[test]
fn a_recalled_source_is_read_only_in_part_and_whole_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let text: Vec<u8> = (0..40_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let (path, memo) = recalled_source(dir.path(), &text);
    let source = read(&path, Some(&memo), coarse_now_ns());
    assert!(source.recalled);
    let got = source.text.unwrap();
    assert_eq!(got.read(), (&text[..HEAD_SIZE], false));
    assert!(got.is(&text) && !got.is(&text[..HEAD_SIZE]));
    assert_eq!(got.whole(), Some(&text[..]));
    assert_eq!(got.whole(), Some(&text[..]), "read once, kept");
    assert_eq!(got.into_whole(), Some(text.clone()));
    let unread = read(&path, Some(&memo), coarse_now_ns()).text.unwrap();
    assert_eq!(unread.into_whole(), None, "the rest was never read");
}

/// The rest is read through the descriptor the part was: a file renamed
/// over the path leaves the text the facts are of, but one written in
/// place, grown or shrunk, is no longer that text.
#[test]
fn the_rest_of_a_recalled_source_must_be_the_text_it_was_recalled_for() {
    let dir = tempfile::tempdir().unwrap();
    let text: Vec<u8> = (0..40_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let (path, memo) = recalled_source(dir.path(), &text);
    let mut other = text.clone();
    other[30_000] = b'!';
    let replaced = dir.path().join("new.c");
    fs::write(&replaced, &other).unwrap();
    let source = read(&path, Some(&memo), coarse_now_ns()).text.unwrap();
    fs::rename(&replaced, &path).unwrap();
    assert_eq!(source.whole(), Some(&text[..]), "the descriptor's file");
    assert!(!source.is(&other));

    let (path, memo) = recalled_source(dir.path(), &text);
    let in_place = |content: &[u8]| {
        let source = read(&path, Some(&memo), coarse_now_ns()).text.unwrap();
        assert!(source.read().0.len() == HEAD_SIZE && !source.read().1);
        fs::write(&path, content).unwrap();
        assert_eq!(source.whole(), None, "{} bytes", content.len());
        fs::write(&path, &text).unwrap();
        // The ctime is new: remembered again once settled.
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!read(&path, Some(&memo), coarse_now_ns()).recalled);
    };
    in_place(&other);
    in_place(&[&text[..], b"\n"].concat());
    in_place(&text[..text.len() - 1]);
    in_place(&text[..HEAD_SIZE]);
}
