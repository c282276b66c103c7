//! Direct hits in a relocated copy of a project under `base_dir`.

use super::*;

// ---------------------------------------------------------------------------
// relocated direct hits under base_dir
// ---------------------------------------------------------------------------

fn relocated_units(proj: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Vec<Compile> {
    let inc = format!("-I{}", proj.join("include").display());
    proj_units("gcc", "g++")
        .into_iter()
        .map(|(cc, src, obj)| {
            let mut a = vec![inc.as_str(), "-c", src, "-o", obj];
            a.extend_from_slice(extra);
            let mut u = Compile::new(proj, &cc, &a, obj).envs(envs);
            if extra.contains(&"-MD") {
                u = u.dep(&obj.replace(".o", ".d"));
            }
            u
        })
        .collect()
}

fn relocated(extra: &[&str]) {
    let env = TestEnv::new();
    let a = env.copy_fixture("proj", "a/proj");
    let b = env.copy_fixture("proj", "bb/proj");
    let base = env.root().to_str().unwrap().to_string();
    let envs = [("CCACHE_BASEDIR", base.as_str()), ("CCACHE_NOHASHDIR", "1")];
    settle();
    let ua = relocated_units(&a, extra, &envs);
    let n = ua.len() as u64;
    for u in &ua {
        u.check(&env);
    }
    expect(&env, c(0, n, 0, n, n), "every unit misses in a/proj");
    // The first checkout is gone (as in CI): its headers cannot be what
    // makes the lookup in bb/proj succeed.
    fs::remove_dir_all(&a).unwrap();
    settle();
    for (i, u) in relocated_units(&b, extra, &envs).iter().enumerate() {
        let got = u.check(&env);
        if let Some(d) = &got.dep {
            let text = String::from_utf8_lossy(d);
            assert!(
                !text.contains("/a/proj"),
                "the .d in bb/proj names a/proj:\n{text}"
            );
        }
        expect(
            &env,
            c(i as u64 + 1, n, 0, n, n),
            &format!("unit {} in bb/proj must be a direct hit", u.obj),
        );
    }
    // A header edited in bb/proj: the recorded include is bb's own file.
    let header = b.join("include/mathx.h");
    let edited = fs::read_to_string(&header)
        .unwrap()
        .replace("MATHX_SCALE 3", "MATHX_SCALE 5");
    fs::write(&header, edited).unwrap();
    settle();
    let math = relocated_units(&b, extra, &envs)
        .into_iter()
        .find(|u| u.obj == "math.o")
        .unwrap();
    math.check(&env);
    expect(
        &env,
        c(n, n + 1, 0, n + 1, n + 1),
        "header edited in bb/proj: math.o is not a direct hit",
    );
}

#[test]
fn relocated_direct_hit_under_base_dir() {
    relocated(&[]);
}

#[test]
fn relocated_direct_hit_under_base_dir_with_md() {
    relocated(&["-MD"]);
}

/// A relocated checkout hashes the headers on its first direct hit and
/// keeps their digests in the inode memo: the manifest is left as it is
/// (another checkout would only rewrite it back), and both hits are direct.
#[test]
fn relocated_hits_leave_the_manifest_as_it_is() {
    let env = TestEnv::new();
    let base = env.dir("base");
    let a = base.join("a").join("proj");
    let b = base.join("bbb").join("proj");
    copy_dir(&fixtures_dir().join("proj"), &a);
    copy_dir(&fixtures_dir().join("proj"), &b);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let compile = |dir: &std::path::Path| {
        let inc = format!("-I{}/include", dir.display());
        let out = run(env
            .objcache_in(
                dir,
                ["gcc", inc.as_str(), "-c", "src/util.c", "-o", "util.o"],
            )
            .env("CCACHE_BASEDIR", &base)
            .env("CCACHE_NOHASHDIR", "1"));
        assert!(out.success(), "{}", out.dump());
    };
    compile(&a);
    let manifest = walk_files(&env.cache_dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with('M'))
        .expect("a manifest");
    let before_b = read(&manifest);
    compile(&b);
    let after_first_b = read(&manifest);
    assert_eq!(
        before_b, after_first_b,
        "the first hit in b must not rewrite the manifest"
    );
    compile(&b);
    assert_eq!(env.stat("direct_cache_hit"), 2, "{:?}", env.stats());
    let after_second_b = read(&manifest);
    assert_eq!(
        after_first_b, after_second_b,
        "the second hit in b must not rewrite the manifest"
    );
}
