//! Remote storage as the manager sees it: which configured backends cannot
//! be used (said once by every command, at the top of `-s`), and
//! `--check-remote`, which tries each one with a probe entry.

use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::remote::{self, BackendSpec, HelperSearch, Remote};
use crate::stats::display::format_unix_time;
use crate::storage::helper_search;
use crate::storage::remote_status::{self, Outcome, Status};

/// One line per configured backend that cannot be used: those objcache
/// cannot open (a scheme it has no backend for), and the last failure a
/// compile recorded, if its backend is still configured.
pub fn notices(config: &Config) -> Vec<String> {
    if config.remote_storage.trim().is_empty() {
        return Vec::new();
    }
    let specs = match remote::parse(&config.remote_storage) {
        Ok(specs) => specs,
        Err(e) => return vec![format!("remote storage: {}", remote::mask_secrets(&e))],
    };
    let mut out = Vec::new();
    let mut broken = Vec::new();
    let search = helper_search(config);
    for spec in &specs {
        let url = remote::mask_url(&spec.url);
        if let Err(e) = Remote::open_with(spec, &search) {
            out.push(format!(
                "remote storage {url} is not used: {}",
                remote::mask_secrets(&e)
            ));
            broken.push(url);
        }
    }
    let status = Status::read(&config.cache_dir);
    if let Some(f) = status.failed {
        let configured = specs.iter().any(|s| remote::mask_url(&s.url) == f.url);
        if configured && !broken.contains(&f.url) {
            out.push(format!(
                "remote storage {} is not used: {} (failed last at {}); \
                 `objcache --check-remote` tests it",
                f.url,
                f.reason,
                format_unix_time(f.time)
            ));
        }
    }
    out
}

/// What went wrong with one backend, at which step.
struct Trouble {
    step: &'static str,
    reason: String,
}

fn at(step: &'static str) -> impl Fn(remote::Failure) -> Trouble {
    move |f| Trouble {
        step,
        reason: f.reason,
    }
}

/// A name no entry has: a key made of this process and the time.
fn probe_name() -> String {
    let seed = format!(
        "objcache --check-remote {} {}",
        std::process::id(),
        crate::clock::now_ns()
    );
    format!("{}R", blake3::hash(seed.as_bytes()).to_hex())
}

/// Writes, reads back, compares and deletes a probe entry (a read-only
/// backend: reads one that is not there). The first failing step ends it.
fn probe(r: &Remote) -> Result<&'static str, Trouble> {
    let name = probe_name();
    if r.read_only {
        r.get(&name).map_err(at("read"))?;
        return Ok("read-only: connected and read, nothing written");
    }
    let data = format!("objcache remote check {name}\n").repeat(16);
    r.put(&name, data.as_bytes()).map_err(at("write"))?;
    let back = r.get(&name).map_err(at("read back"))?;
    let deleted = r.remove(&name).map_err(at("delete"));
    let mismatch = |reason: String| Trouble {
        step: "read back",
        reason,
    };
    match back {
        None => return Err(mismatch("the probe entry just written is not there".into())),
        Some(b) if b != data.as_bytes() => {
            return Err(mismatch(format!(
                "{} bytes came back for the {} written, not the same",
                b.len(),
                data.len()
            )))
        }
        Some(_) => {}
    }
    if !deleted? {
        return Err(Trouble {
            step: "delete",
            reason: "the server had no probe entry to delete".into(),
        });
    }
    Ok("wrote, read back and deleted a probe entry")
}

/// Checks one backend; its line, and what to remember of it.
fn check_one(spec: &BackendSpec, search: &HelperSearch, outcome: &mut Outcome) -> (bool, String) {
    let url = remote::mask_url(&spec.url);
    let start = Instant::now();
    let result = Remote::open_with(spec, search)
        .map_err(|e| Trouble {
            step: "open",
            reason: remote::mask_secrets(&e),
        })
        .and_then(|r| probe(&r));
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(what) => {
            outcome.answered.push(url.clone());
            (true, format!("{url}: ok in {ms:.1} ms ({what})"))
        }
        Err(t) => {
            let line = format!("{url}: FAILED after {ms:.1} ms at {}: {}", t.step, t.reason);
            outcome
                .failed
                .push((url, format!("{}: {}", t.step, t.reason)));
            (false, line)
        }
    }
}

/// `--check-remote`: one line per backend (each shard of a sharded one);
/// an error when one fails or none is configured.
pub fn check_remote(config: &Config) -> Result<(), String> {
    if config.remote_storage.trim().is_empty() {
        return Err(
            "no remote storage configured (remote_storage / CCACHE_REMOTE_STORAGE is empty)".into(),
        );
    }
    let specs = remote::parse(&config.remote_storage)
        .map_err(|e| format!("remote_storage: {}", remote::mask_secrets(&e)))?;
    let search = helper_search(config);
    let mut outcome = Outcome::default();
    let mut failed = 0;
    let mut checked = 0;
    for spec in &specs {
        let shards = match spec.each_shard() {
            Ok(shards) => shards,
            Err(e) => {
                failed += 1;
                println!("{}: FAILED: {e}", remote::mask_url(&spec.url));
                continue;
            }
        };
        for shard in shards {
            let (ok, line) = check_one(&shard, &search, &mut outcome);
            println!("{line}");
            for note in remote::unknown_attributes(&shard, &search) {
                println!("  note: {note}");
            }
            checked += 1;
            failed += usize::from(!ok);
        }
    }
    remember(&config.cache_dir, &outcome);
    match failed {
        0 => Ok(()),
        n => Err(format!(
            "remote storage check: {n} of {checked} backends failed"
        )),
    }
}

/// What the check found, for `-s` and the next commands: a backend that
/// passed is no longer reported as failing, one that failed is.
fn remember(cache_dir: &Path, outcome: &Outcome) {
    let now = crate::clock::now_ns() / 1_000_000_000;
    let failures = Outcome {
        failed: outcome.failed.clone(),
        answered: Vec::new(),
    };
    let answers = Outcome {
        failed: Vec::new(),
        answered: outcome.answered.clone(),
    };
    // Failures last: they stay on record.
    remote_status::record(cache_dir, &answers, false, now);
    remote_status::record(cache_dir, &failures, false, now);
}
