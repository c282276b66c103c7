//! Input records (what `--explain` reads) are written only where the
//! storage policy lets a compile write.

use std::fs;

use crate::common::*;

/// The input record files of the cache (entry files ending in `X`).
fn records(env: &TestEnv) -> Vec<std::path::PathBuf> {
    cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with('X'))
        .collect()
}

/// A read_only miss leaves the record of the output's last stored miss as
/// it was, its time included: read_only writes nothing, not even a time.
#[test]
fn a_read_only_miss_leaves_the_input_record_untouched() {
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
    let [record] = &records(&env)[..] else {
        panic!("one input record expected: {:?}", records(&env));
    };
    let before = fs::metadata(record).unwrap().modified().unwrap();
    let bytes = fs::read(record).unwrap();
    compile("-O1", &[("CCACHE_READONLY", "1")]);
    assert_eq!(env.misses(), 2);
    assert_eq!(fs::read(record).unwrap(), bytes);
    assert_eq!(fs::metadata(record).unwrap().modified().unwrap(), before);
    let out = run_ok(&mut env.objcache_in(&work, ["--explain", "t.o"])).stdout_str();
    assert!(!out.starts_with("hit"), "{out}");
}
