//! `__DATE__` in direct mode. The object depends on the day of the
//! compile, so a compile that shows a date is recorded under a manifest key
//! that holds the date: when the source or an argument names `__DATE__`,
//! the manifest key itself holds it (`Recipe::manifest`); when only a
//! header does (or a macro pastes the name together), the manifest keeps,
//! with the headers' record, a marker result that sends the lookup on to
//! the manifest of this day (`dated_manifest`). `__TIME__` and
//! `__TIMESTAMP__` keep direct mode off.
//!
//! The date is what the compiler expands `__DATE__` to: gcc takes it from
//! `SOURCE_DATE_EPOCH` when that is set, older clang ignores it and takes
//! the local date, so both go in (`date_at`).

use crate::key::{Key, KeyHasher};

/// The result key of a manifest's marker: "look in the manifest of the
/// day". Made from the manifest key, so no compile's result key is one.
pub fn marker(manifest: &Key) -> Key {
    let mut h = KeyHasher::new(false);
    h.field("kind", b"dated-marker");
    h.field("manifest", manifest.as_bytes());
    h.finish().0
}

/// The manifest of the day `date` (see `date_at`) behind `manifest`.
pub fn dated_manifest(manifest: &Key, date: &str) -> Key {
    let mut h = KeyHasher::new(false);
    h.field("kind", b"dated-manifest");
    h.field("manifest", manifest.as_bytes());
    h.field("date", date.as_bytes());
    h.finish().0
}

/// What decides `__DATE__` at `secs` since the epoch: the local date and
/// `SOURCE_DATE_EPOCH` as set (`None`: the local date is unknown).
pub fn date_at(secs: i64) -> Option<String> {
    let local = crate::clock::local_date(secs)?;
    let epoch = std::env::var_os("SOURCE_DATE_EPOCH");
    Some(match epoch {
        Some(value) => format!("{local} SOURCE_DATE_EPOCH={}", value.to_string_lossy()),
        None => local,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_date_and_from_the_marker() {
        let m = crate::key::Key::from_bytes([7; 32]);
        let a = dated_manifest(&m, "2026-12-06");
        assert_ne!(a, dated_manifest(&m, "2026-12-07"));
        assert_ne!(a, marker(&m));
        assert_ne!(marker(&m), marker(&crate::key::Key::from_bytes([8; 32])));
        assert!(date_at(0).is_some_and(|d| d.starts_with("19")));
    }
}
