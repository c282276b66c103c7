//! The manager options that read or rewrite single cache entries:
//! `-x/--show-compression`, `--inspect`,
//! `--extract-result`, `--hash-file` and `--checksum-file`.
//!
//! Entries are the containers of `disk::container` (docs/formats.md): the
//! header says whether the body is zstd-compressed and how long the payload
//! is, so compression statistics need no decompression.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use crate::config::size::SizeUnits;
use crate::depfile::StoredDepfile;
use crate::disk::cleanup::walk_bucket;
use crate::disk::container::peek_namespace;
use crate::disk::entry::{FileKind, RawObjectRef, ResultEntry, MAGIC as RESULT_MAGIC};
use crate::disk::inputs::{MissInputs, MAGIC as INPUTS_MAGIC};
use crate::disk::manifest::{Manifest, StoredPath, MAGIC as MANIFEST_MAGIC};
use crate::disk::EntryKind;
use crate::files::disk_kib;
use crate::key::Key;

/// magic | version | compression | ns_len | key | payload_len
const HEADER_LEN: usize = 4 + 2 + 1 + 1 + 32 + 8;
const CHECKSUM_LEN: usize = 32;

/// What a container's header says, read without verifying the file.
pub(super) struct Header {
    magic: [u8; 4],
    version: u16,
    pub(super) compressed: bool,
    key: Key,
    payload_len: u64,
    pub(super) namespace: String,
    /// Header, namespace and checksum: what is not the body.
    overhead: u64,
}

pub(super) fn header(bytes: &[u8]) -> Option<Header> {
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return None;
    }
    let ns_len = bytes[7] as usize;
    Some(Header {
        magic: bytes[..4].try_into().ok()?,
        version: u16::from_le_bytes([bytes[4], bytes[5]]),
        compressed: bytes[6] == 1,
        key: Key::from_bytes(bytes[8..40].try_into().ok()?),
        payload_len: u64::from_le_bytes(bytes[40..48].try_into().ok()?),
        namespace: peek_namespace(bytes).unwrap_or_default(),
        overhead: (HEADER_LEN + ns_len + CHECKSUM_LEN) as u64,
    })
}

/// Every result, manifest and raw object file of the local cache.
pub(super) fn entry_files(
    cache_dir: &Path,
) -> io::Result<Vec<(std::path::PathBuf, EntryKind, Key)>> {
    let mut out = Vec::new();
    for bucket in 0..=255u8 {
        for f in walk_bucket(cache_dir, bucket)? {
            let name = f.path.file_name().unwrap_or_default().to_string_lossy();
            if let Some((kind, key)) = EntryKind::parse_file_name(&name) {
                out.push((f.path.clone(), kind, key));
            }
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Totals {
    /// Bytes of every entry file as stored.
    stored: u64,
    /// The same files' disk blocks, in bytes.
    disk: u64,
    /// Compressed entries: stored bytes and what they would take uncompressed.
    compressed: u64,
    original: u64,
    /// Entries stored uncompressed (raw objects included).
    incompressible: u64,
}

/// `-x`: how much the local cache's compression saves.
pub fn show_compression(cache_dir: &Path, units: SizeUnits) -> Result<String, String> {
    let reading = |e: io::Error| format!("reading {}: {e}", cache_dir.display());
    let mut t = Totals::default();
    for (path, kind, _) in entry_files(cache_dir).map_err(reading)? {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue; // removed meanwhile
        };
        t.stored += meta.len();
        t.disk += disk_kib(&meta) * 1024;
        let head = match kind {
            EntryKind::RawObject => None,
            _ => read_head(&path),
        };
        match head {
            Some(h) if h.compressed => {
                t.compressed += meta.len();
                t.original += h.overhead + h.payload_len;
            }
            _ => t.incompressible += meta.len(),
        }
    }
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    };
    let ratio = if t.compressed == 0 {
        0.0
    } else {
        t.original as f64 / t.compressed as f64
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Total data:           {} ({} disk blocks)",
        units.format(t.stored),
        units.format(t.disk)
    );
    let _ = writeln!(
        out,
        "Compressed data:      {} ({:.1}% of original size)",
        units.format(t.compressed),
        pct(t.compressed, t.original)
    );
    let _ = writeln!(out, "  Original size:      {}", units.format(t.original));
    let _ = writeln!(
        out,
        "  Compression ratio:  {ratio:.3} x  ({:.1}% space savings)",
        if t.original == 0 {
            0.0
        } else {
            100.0 - pct(t.compressed, t.original)
        }
    );
    let _ = writeln!(
        out,
        "Incompressible data:  {}",
        units.format(t.incompressible)
    );
    Ok(out)
}

fn read_head(path: &Path) -> Option<Header> {
    header(&crate::files::read_cache_head(
        path,
        HEADER_LEN + 255 + CHECKSUM_LEN,
    )?)
}

pub fn hash_file(path: &str) -> Result<String, String> {
    let mut hasher = blake3::Hasher::new();
    let result = if path == "-" {
        hasher.update_reader(io::stdin().lock()).map(|_| ())
    } else {
        fs::File::open(path).and_then(|f| hasher.update_reader(f).map(|_| ()))
    };
    result.map_err(|e| format!("reading {path}: {e}"))?;
    Ok(hasher.finalize().to_hex().to_string())
}

fn read_entry(path: &str) -> Result<(Vec<u8>, Header), String> {
    let bytes = crate::files::open_regular_file(Path::new(path))
        .and_then(|(file, len)| crate::files::read_at_most(file, len, crate::files::MAX_CACHE_FILE))
        .map_err(|e| format!("reading {path}: {e}"))?;
    let head =
        header(&bytes).ok_or_else(|| format!("{path}: not an objcache entry (too short)"))?;
    Ok((bytes, head))
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Object => "object",
        FileKind::Dependency => "dependency file",
        FileKind::Stderr => "stderr",
        FileKind::RawObject => "raw object reference",
        FileKind::WorkingDir => "working directory",
        FileKind::SplitDwarf => "split DWARF (.dwo)",
        FileKind::ColouredStderr => "stderr (coloured)",
        FileKind::CoverageNotes => "coverage notes (.gcno)",
        FileKind::StackUsage => "stack usage (.su)",
        FileKind::CallGraph => "call graph info (.ci)",
        FileKind::Listing => "assembler listing",
        FileKind::Stdout => "stdout",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn stored_path(p: &StoredPath) -> String {
    match p {
        StoredPath::Literal(s) if s.is_empty() => "\"\"".to_string(),
        StoredPath::Literal(s) => s.clone(),
        StoredPath::Relative { up, rest } => format!("<cwd, {up} up>/{rest}"),
    }
}

/// `--inspect PATH`: the header and contents of a result, a manifest or
/// miss inputs.
pub fn inspect(path: &str) -> Result<String, String> {
    let (bytes, head) = read_entry(path)?;
    let mut out = String::new();
    let what = match &head.magic {
        m if m == RESULT_MAGIC => "result",
        m if m == MANIFEST_MAGIC => "manifest",
        m if m == INPUTS_MAGIC => "miss inputs",
        _ => return Err(format!("{path}: not an objcache result or manifest")),
    };
    let _ = writeln!(out, "Type:             {what}");
    let _ = writeln!(
        out,
        "Format:           {} version {}",
        String::from_utf8_lossy(&head.magic),
        head.version
    );
    let _ = writeln!(out, "Key:              {}", head.key.to_hex());
    let _ = writeln!(out, "Namespace:        {}", head.namespace);
    let _ = writeln!(
        out,
        "Compression type: {}",
        if head.compressed { "zstd" } else { "none" }
    );
    let _ = writeln!(out, "Entry size:       {}", bytes.len());
    let _ = writeln!(out, "Payload size:     {}", head.payload_len);
    let key = &head.key;
    match what {
        "result" => describe_result(&mut out, path, &bytes, key)?,
        "miss inputs" => describe_miss_inputs(&mut out, path, &bytes, key)?,
        _ => describe_manifest(&mut out, path, &bytes, key)?,
    }
    Ok(out)
}

/// `--inspect`'s lines for the result entry `bytes`.
fn describe_result(out: &mut String, path: &str, bytes: &[u8], key: &Key) -> Result<(), String> {
    let entry = ResultEntry::decode(bytes, key).map_err(|e| format!("{path}: {e}"))?;
    let _ = writeln!(out, "Files:            {}", entry.files.len());
    for (i, (kind, data)) in entry.files.iter().enumerate() {
        let _ = writeln!(out, "  [{i}] {} ({} bytes)", kind_name(*kind), data.len());
        match kind {
            FileKind::RawObject => {
                let line = match RawObjectRef::decode(data) {
                    Ok(r) => format!("digest: {}, length: {}", hex(&r.digest), r.size),
                    Err(why) => why,
                };
                let _ = writeln!(out, "      {line}");
            }
            FileKind::WorkingDir => {
                let _ = writeln!(out, "      {}", String::from_utf8_lossy(data));
            }
            FileKind::Dependency => {
                let stored = StoredDepfile::decode(data);
                for (name, v) in stored.iter().flat_map(|d| d.fields()) {
                    let _ = writeln!(out, "      {name}: {}", v.replace('\n', "\\n"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `--inspect`'s lines for the miss inputs `bytes`.
fn describe_miss_inputs(
    out: &mut String,
    path: &str,
    bytes: &[u8],
    key: &Key,
) -> Result<(), String> {
    let inputs = MissInputs::decode(bytes, key).map_err(|e| format!("{path}: {e}"))?;
    let _ = writeln!(out, "Output:           {}", inputs.output);
    let _ = writeln!(out, "Source:           {}", inputs.source);
    let _ = writeln!(out, "Compiled at (ns): {}", inputs.time_ns);
    let _ = writeln!(out, "Missed because:   {}", inputs.explanation);
    let _ = writeln!(out, "Fields:           {}", inputs.fields.len());
    for (label, value) in &inputs.fields {
        let _ = writeln!(out, "  {label}: {value}");
    }
    Ok(())
}

/// `--inspect`'s lines for the manifest `bytes`.
fn describe_manifest(out: &mut String, path: &str, bytes: &[u8], key: &Key) -> Result<(), String> {
    let manifest = Manifest::decode(bytes, key).map_err(|e| format!("{path}: {e}"))?;
    let _ = writeln!(out, "Results:          {}", manifest.results.len());
    for (i, r) in manifest.results.iter().enumerate() {
        let _ = writeln!(out, "  [{i}] result key: {}", r.result_key.to_hex());
        let _ = writeln!(out, "      includes: {}", r.includes.len());
        for inc in &r.includes {
            let _ = writeln!(
                out,
                "        {} (digest {}, size {}, mtime_ns {}, ctime_ns {})",
                stored_path(&inc.path),
                hex(&inc.digest),
                inc.stamp.size,
                inc.stamp.mtime_ns,
                inc.stamp.ctime_ns
            );
        }
        let _ = writeln!(out, "      probe directories: {}", r.probes.dirs.len());
        for (i, dir) in r.probes.dirs.iter().enumerate() {
            let _ = writeln!(
                out,
                "        {} ({}, {} candidates)",
                stored_path(&dir.path),
                if dir.stamp.is_some() {
                    "present"
                } else {
                    "absent"
                },
                r.probes.candidates().map_or(0, |c| c.count_of(i))
            );
        }
    }
    Ok(())
}

/// The suffix ccache gives each kind of file in `ccache-result.*`.
fn extract_suffix(kind: FileKind) -> Option<&'static str> {
    Some(match kind {
        FileKind::Object | FileKind::RawObject => "o",
        FileKind::Dependency => "d",
        FileKind::Stderr | FileKind::ColouredStderr => "stderr",
        FileKind::Stdout => "stdout",
        FileKind::SplitDwarf => "dwo",
        FileKind::CoverageNotes => "gcno",
        FileKind::StackUsage => "su",
        FileKind::CallGraph => "ci",
        FileKind::Listing => "al",
        FileKind::WorkingDir => return None,
    })
}

/// `--extract-result PATH`: writes the result's files into `into` as
/// `ccache-result.o`, `.d`, `.stderr` …; returns the names written.
pub fn extract_result(path: &str, into: &Path) -> Result<Vec<String>, String> {
    let (bytes, head) = read_entry(path)?;
    if &head.magic != RESULT_MAGIC {
        return Err(format!("{path}: not an objcache result entry"));
    }
    let entry = ResultEntry::decode(&bytes, &head.key).map_err(|e| format!("{path}: {e}"))?;
    let mut written = Vec::new();
    for (kind, data) in &entry.files {
        let Some(suffix) = extract_suffix(*kind) else {
            continue;
        };
        let content = match kind {
            // The object lives beside the entry, in `<key>W`.
            FileKind::RawObject => {
                let raw = Path::new(path).with_file_name(EntryKind::RawObject.file_name(&head.key));
                crate::files::read_cache_file(&raw)
                    .map_err(|e| format!("reading {}: {e}", raw.display()))?
            }
            // The `.d` as the compiler wrote it, without the lines objcache stores before it.
            FileKind::Dependency => match StoredDepfile::decode(data) {
                Some(stored) => stored.body().to_vec(),
                None => data.clone(),
            },
            _ => data.clone(),
        };
        let name = format!("ccache-result.{suffix}");
        fs::write(into.join(&name), &content).map_err(|e| format!("writing {name}: {e}"))?;
        written.push(name);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_of_an_entry() {
        let key = Key::of(b"k");
        let entry = ResultEntry {
            files: vec![(FileKind::Object, vec![0u8; 1000])],
        };
        let bytes = entry.encode(&key, "ns", Some(3)).unwrap();
        let h = header(&bytes).unwrap();
        assert!(h.compressed);
        assert_eq!(h.key, key);
        assert_eq!(h.namespace, "ns");
        assert_eq!(h.payload_len, 4 + 1 + 8 + 1000);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e");
        fs::write(&p, &bytes).unwrap();
        let text = inspect(p.to_str().unwrap()).unwrap();
        assert!(text.contains("object (1000 bytes)"), "{text}");
        let names = extract_result(p.to_str().unwrap(), dir.path()).unwrap();
        assert_eq!(names, ["ccache-result.o"]);
        assert_eq!(
            fs::read(dir.path().join("ccache-result.o")).unwrap(),
            [0u8; 1000]
        );
    }
}
