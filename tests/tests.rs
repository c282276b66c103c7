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

mod arg_conformance;
mod basedir;
mod basic;
mod bookkeeping_count;
mod bookkeeping_files;
mod build_systems;
mod ci_case;
mod ci_health;
mod cli;
mod cmake;
mod coarse_stamps;
mod color;
mod color_entries;
mod concurrency;
mod config;
mod config_hostile;
mod config_keys;
mod config_parity;
mod counters;
mod debug_log;
mod default_places;
mod defaults;
mod depfiles;
mod dir_config;
mod direct;
mod doc_ci_recipes;
mod doc_commands;
mod empty_ccache_dir;
mod explain;
mod explain_ci;
mod extra_outputs;
mod faults;
mod fresh_inputs;
mod hardlink;
mod hostile_diet;
mod hostile_dir_config;
mod hostile_large;
mod hostile_lazy_source;
mod hostile_locks;
mod hostile_machine_readable;
mod hostile_memo;
mod hostile_open;
mod hostile_remote;
mod hostile_shares;
mod hostile_stamps;
mod hostile_suite_parity;
mod hostile_wrong_objects;
mod hygiene;
mod invoke_parity;
mod key_options;
mod keys;
mod large_objects;
mod late_review;
mod lazy_source;
mod locks;
mod machine_readable;
mod man_page;
mod manage_parity;
mod manager_cli;
mod masquerade;
mod miss_inputs_policy;
mod newuser_review;
mod outputs;
mod outputs_trust;
mod package;
mod pch;
mod perf_review;
mod progress;
mod readme;
mod release_script;
mod relocation;
mod relocation_cases;
mod remote;
mod remote_loud;
mod remote_reshare;
mod remote_s3;
mod remote_tls;
mod shared_cache;
mod size;
mod sloppiness;
mod source_attack;
mod source_memo;
mod splitdwarf;
mod stats_log;
mod storage_helpers;
mod suite_cheap;
mod suite_parity_a;
mod suite_parity_b;
mod trust_config;
mod umask_outputs;
mod uncacheable;
