//! The integration tests: one test binary, one module per area.
//!
//! Every test drives the built `objcache` binary against real compilers
//! (and, for `remote`, real servers) in its own temporary directory with
//! its own cache directory, so tests of all modules run side by side in
//! this one process: no test changes the process environment, working
//! directory or any other process-wide state.

// Helpers shared by the test modules (and `common::servers`, the servers
// the remote-storage tests start).
mod common;

mod basedir;
mod basic;
mod bookkeeping_files;
mod ci_health;
mod cli;
mod cmake;
mod coarse_stamps;
mod color;
mod concurrency;
mod config;
mod config_hostile;
mod config_keys;
mod config_parity;
mod counters;
mod defaults;
mod depfiles;
mod direct;
mod explain;
mod extra_outputs;
mod faults;
mod fresh_inputs;
mod hardlink;
mod hostile_locks;
mod hostile_open;
mod hostile_stamps;
mod hygiene;
mod invoke_parity;
mod keys;
mod locks;
mod manage_parity;
mod masquerade;
mod outputs;
mod outputs_trust;
mod pch;
mod readme;
mod relocation;
mod remote;
mod shared_cache;
mod size;
mod sloppiness;
mod splitdwarf;
mod stats_log;
mod storage_records;
mod trust_config;
mod uncacheable;
