//! The HTTP requests objcache sends, as a fake server records them: paths
//! per layout, headers, authentication and keep-alive.

use super::*;

// ---------------------------------------------------------------------------
// HTTP requests on the wire
// ---------------------------------------------------------------------------

const HTTP_404: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
const HTTP_201: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";

/// Runs one miss against a recording HTTP server that answers every GET
/// with 404 and every PUT with 201; returns the requests.
fn recorded_requests(userinfo: &str, attrs: &str) -> Vec<Request> {
    let server = FakeServer::start(Behaviour::Http {
        get: HTTP_404.to_vec(),
        put: HTTP_201.to_vec(),
    });
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    // The requests' shape is under test, not the timeouts: generous ones,
    // so that a loaded machine's slow accept is no remote error.
    let url = format!(
        "http://{userinfo}127.0.0.1:{}/base/{attrs}|connect-timeout=5000|data-timeout=5000",
        server.port
    );
    let r = Runner::new(&url);
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!(get(&s, "remote_storage_error"), 0, "{s:?}");
    assert_eq!(
        get(&s, "remote_storage_write"),
        2,
        "result and manifest: {s:?}"
    );
    let reqs = server.requests();
    assert!(
        reqs.iter().any(|r| r.line().starts_with("GET "))
            && reqs.iter().any(|r| r.line().starts_with("PUT ")),
        "{reqs:#?}"
    );
    for r in reqs.iter().filter(|r| r.line().starts_with("PUT ")) {
        assert!(r.body_len > 0, "PUT without a body: {r:?}");
    }
    reqs
}

/// The paths (`/base/...`) of the requests, without method and version.
fn paths(reqs: &[Request]) -> Vec<String> {
    reqs.iter()
        .map(|r| r.line().split(' ').nth(1).unwrap_or_default().to_string())
        .collect()
}

#[test]
fn http_subdirs_requests_headers_and_auth() {
    let reqs = recorded_requests(
        "ci:p%40ss@",
        "|header=X-Objcache-Test=b%20c|keep-alive=false",
    );
    for p in paths(&reqs) {
        let rest = p
            .strip_prefix("/base/")
            .unwrap_or_else(|| panic!("path outside the base: {p}"));
        let (dir, name) = rest.split_once('/').unwrap_or_else(|| panic!("{p}"));
        assert!(
            dir.len() == 2 && is_hex64(&format!("{dir}{}", &name[..name.len() - 1])),
            "subdirs path: {p}"
        );
    }
    for r in &reqs {
        assert_eq!(
            r.headers("authorization"),
            vec!["Basic Y2k6cEBzcw==".to_string()],
            "basic auth of the percent-decoded user:password ci:p@ss: {r:?}"
        );
        assert_eq!(
            r.headers("x-objcache-test"),
            vec!["b c".to_string()],
            "{r:?}"
        );
        assert_eq!(
            r.headers("connection"),
            vec!["close".to_string()],
            "keep-alive=false: {r:?}"
        );
    }
}

#[test]
fn http_flat_requests_with_bearer_token_and_keep_alive() {
    let reqs = recorded_requests("", "|layout=flat|bearer-token=tok%2Fen|keep-alive");
    for p in paths(&reqs) {
        let name = p.strip_prefix("/base/").unwrap_or_else(|| panic!("{p}"));
        assert!(
            is_hex64(&name[..name.len() - 1]) && (name.ends_with('R') || name.ends_with('M')),
            "flat path: {p}"
        );
    }
    for r in &reqs {
        assert_eq!(
            r.headers("authorization"),
            vec!["Bearer tok/en".to_string()],
            "{r:?}"
        );
        assert!(
            !r.headers("connection")
                .iter()
                .any(|v| v.eq_ignore_ascii_case("close")),
            "keep-alive: no Connection: close: {r:?}"
        );
    }
}

#[test]
fn http_bazel_requests() {
    let reqs = recorded_requests("", "|layout=bazel");
    let ps = paths(&reqs);
    for p in &ps {
        let hex = p
            .strip_prefix("/base/ac/")
            .unwrap_or_else(|| panic!("bazel path: {p}"));
        assert!(is_hex64(hex), "bazel path: {p}");
    }
    let distinct: std::collections::BTreeSet<&String> = ps.iter().collect();
    assert_eq!(distinct.len(), 2, "a result and a manifest: {ps:?}");
    // keep-alive is on by default, as in ccache 4.13.
    for r in &reqs {
        assert!(
            !r.headers("connection")
                .iter()
                .any(|v| v.eq_ignore_ascii_case("close")),
            "default keep-alive: no Connection: close: {r:?}"
        );
    }
}
