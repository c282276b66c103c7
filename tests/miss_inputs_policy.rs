//! Miss inputs (what `--explain` reads) are written only where the
//! storage policy lets a compile write.

use std::fs;

use crate::common::*;

/// The miss inputs files of the cache (entry files ending in `X`).
fn miss_inputs_files(env: &TestEnv) -> Vec<std::path::PathBuf> {
    cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with('X'))
        .collect()
}

/// A read_only miss leaves the miss inputs of the output's last stored miss
/// as they were, their time included: read_only writes nothing, not even a
/// time.
#[test]
fn a_read_only_miss_leaves_the_miss_inputs_untouched() {
    require("gcc");
    let env = TestEnv::new();
    let work = env.dir("work");
    fs::write(work.join("t.c"), "int main(void) { return 0; }\n").unwrap();
    let compile = |opt: &str, vars: &[(&str, &str)]| {
        let mut cmd = env.objcache_in(&work, ["gcc", opt, "-c", "t.c", "-o", "t.o"]);
        cmd.envs(vars.iter().copied());
        run_ok(&mut cmd);
    };
    compile("-O0", &[]);
    let [inputs] = &miss_inputs_files(&env)[..] else {
        panic!(
            "one miss inputs file expected: {:?}",
            miss_inputs_files(&env)
        );
    };
    let before = fs::metadata(inputs).unwrap().modified().unwrap();
    let bytes = fs::read(inputs).unwrap();
    compile("-O1", &[("CCACHE_READONLY", "1")]);
    assert_eq!(env.misses(), 2);
    assert_eq!(fs::read(inputs).unwrap(), bytes);
    assert_eq!(fs::metadata(inputs).unwrap().modified().unwrap(), before);
    let out = run_ok(&mut env.objcache_in(&work, ["--explain", "t.o"])).stdout_str();
    assert!(!out.starts_with("hit"), "{out}");
}
