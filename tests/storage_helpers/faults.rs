//! Helpers that misbehave: each compile ends with the object the compiler
//! writes, within the configured timeouts, the fault counted, and nothing
//! served from the helper.

use super::*;

/// Timeouts short enough for a quick test. (A helper just started may
/// take up to 10 s to listen, whatever they are.)
const TIMEOUTS: &str = "data-timeout=500ms request-timeout=1500ms";

/// Fills the store through a healthy helper, then compiles with an empty
/// local cache through a helper with `@fault=…` (its own process: the
/// attributes name its socket). Returns the counters.
fn through_fault(fault: &str, limit: Duration) -> Stats {
    let h = HelperEnv::new();
    let c = h.compile("a", &h.remote(""));
    c.check(&h.env);
    assert_eq!(h.env.stat("remote_storage_write"), 2);
    h.clear_local();
    let faulty = h.compile("a", &h.remote(&format!("{TIMEOUTS} @fault={fault}")));
    let got = faulty.check(&h.env);
    assert!(
        got.took < limit,
        "@fault={fault}: the compile took {:?}, over {limit:?}\n{}",
        got.took,
        got.out.dump()
    );
    let stats = h.env.stats();
    assert_eq!(
        get(&stats, "remote_storage_hit"),
        0,
        "@fault={fault}: {stats:?}"
    );
    assert_eq!(
        get(&stats, "remote_storage_read_hit"),
        0,
        "@fault={fault}: {stats:?}"
    );
    assert_eq!(
        get(&stats, "cache_miss"),
        1,
        "@fault={fault}: compiled: {stats:?}"
    );
    stats
}

#[track_caller]
fn errors(stats: &Stats) -> (u64, u64) {
    (
        get(stats, "remote_storage_error"),
        get(stats, "remote_storage_timeout"),
    )
}

/// The timeouts and a helper's start on a loaded machine.
const QUICK: Duration = Duration::from_secs(5);

#[test]
fn a_helper_that_exits_at_once() {
    // Its exit is noticed: no waiting for it to listen.
    assert_eq!(errors(&through_fault("exit", QUICK)), (1, 0));
}

#[test]
fn a_helper_that_dies_mid_answer() {
    assert_eq!(errors(&through_fault("die", QUICK)), (1, 0));
}

#[test]
fn a_helper_that_never_greets() {
    assert_eq!(errors(&through_fault("no-greeting", QUICK)), (0, 1));
}

#[test]
fn a_helper_that_never_answers() {
    assert_eq!(errors(&through_fault("silent", QUICK)), (0, 1));
}

#[test]
fn a_helper_slower_than_the_data_timeout() {
    assert_eq!(errors(&through_fault("slow @delay=2", QUICK)), (0, 1));
}

#[test]
fn a_helper_that_answers_garbage() {
    for fault in ["bad-greeting", "status", "huge", "err"] {
        assert_eq!(
            errors(&through_fault(fault, QUICK)),
            (1, 0),
            "@fault={fault}"
        );
    }
}

#[test]
fn a_helper_that_announces_the_wrong_length() {
    // Longer than what it sends: the wait for the rest ends at the timeout.
    assert_eq!(errors(&through_fault("long", QUICK)), (0, 1));
    // Shorter: the entry read is cut and fails its checksum.
    let stats = through_fault("short", QUICK);
    assert!(get(&stats, "remote_storage_error") >= 1, "{stats:?}");
}

#[test]
fn a_helper_that_serves_a_corrupt_entry() {
    let stats = through_fault("corrupt", QUICK);
    assert!(get(&stats, "remote_storage_error") >= 1, "{stats:?}");
}

#[test]
fn a_helper_that_never_listens_is_waited_for_once() {
    let h = HelperEnv::new();
    let remote = h.remote(&format!("{TIMEOUTS} @fault=hang"));
    // The first compile waits for it as long as a helper may take to
    // start (10 s), then compiles.
    let first = h.compile("a", &remote).check(&h.env);
    assert!(
        first.took < Duration::from_secs(15),
        "took {:?}",
        first.took
    );
    assert_eq!(h.env.stat("remote_storage_timeout"), 1);
    // The next ones neither wait nor start another.
    h.clear_local();
    let second = h.compile("a", &remote).check(&h.env);
    assert!(
        second.took < Duration::from_secs(3),
        "took {:?}",
        second.took
    );
    assert_eq!(h.env.stat("remote_storage_error"), 1);
    let pids = h.starts();
    assert_eq!(pids.len(), 1, "{pids:?}");
    // --stop-storage-helpers ends it: no request can reach it.
    let mut stop = h.objcache();
    stop.arg("--stop-storage-helpers");
    run_ok(&mut stop);
    assert!(ends_within(pids[0], Duration::from_secs(2)));
}
