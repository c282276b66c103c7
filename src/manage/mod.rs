//! The cache manager: `objcache -s`, `-z`, `-M 10G`, `-p` … with ccache's
//! option names and meanings. Options run in the order given, each time
//! they are given, as in ccache (`-s -z -s` shows twice).
//!
//! `options` holds the one table of options; `modifiers` the typed
//! fields the modifiers set; `actions` what each action does; `generate`
//! the help, the man page, the completions and the README table, all from
//! the table; `symlinks` the masquerade directory.

mod actions;
mod cli;
mod entries;
mod generate;
mod man;
mod metrics;
mod miss_report;
mod misses;
mod modifiers;
mod progress;
mod recompress;
mod remote_check;
mod symlinks;
#[cfg(test)]
mod tests;
mod trim;
mod unknown;

use std::ffi::OsString;

use clap::ArgMatches;

use actions::Manager;
use cli::{command, given, last, planned, Kind, MANAGER_OPTIONS};

/// Runs the manager with `args` (without the program name); returns the exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    run_as("objcache", args)
}

/// `run`, for objcache installed as `name`: `ccache` or `objcache` (which
/// decides the version it gives).
pub fn run_as(name: &'static str, args: Vec<OsString>) -> i32 {
    let mut cmd = command().name(name);
    let matches = match cmd.try_get_matches_from_mut(
        std::iter::once(OsString::from("objcache")).chain(args.iter().cloned()),
    ) {
        Ok(m) => m,
        Err(e) if e.use_stderr() => {
            match unknown::message(&e).or_else(|| unknown::operand(&e, &args)) {
                Some(message) => eprintln!("objcache: error: {message}"),
                None => eprint!("objcache: {}", e.render()),
            }
            return 1;
        }
        Err(e) => {
            let _ = e.print();
            return 0;
        }
    };
    let answered = MANAGER_OPTIONS.iter().find_map(|opt| match opt.kind {
        Kind::Info(answer) if given(&matches, opt) => {
            let value = last(&matches, opt).unwrap_or_default();
            Some(answer(&mut cmd, &value))
        }
        _ => None,
    });
    match answered.unwrap_or_else(|| execute(&matches)) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("objcache: error: {message}");
            1
        }
    }
}

/// Runs the actions in command-line order; stops at the first error.
fn execute(m: &ArgMatches) -> Result<(), String> {
    let steps = planned(m);
    if steps.is_empty() {
        return Err("no action given; see objcache --help".into());
    }
    let mut manager = Manager::open(modifiers::Modifiers::from_matches(m))?;
    let mut result = Ok(());
    for step in steps {
        result = step.run(&mut manager);
        if result.is_err() {
            break;
        }
    }
    // After the command's own output, so that it stays the last word.
    for notice in manager.take_remote_notices() {
        eprintln!("objcache: warning: {notice}");
    }
    result
}
