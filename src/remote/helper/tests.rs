use super::wire::{Conn, ConnectError};
use super::*;
use crate::remote::MAX_ENTRY;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::time::Instant;

fn spec(text: &str) -> BackendSpec {
    crate::remote::parse(text).unwrap().remove(0)
}

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(100),
        data: Duration::from_millis(200),
        request: Duration::from_millis(600),
    }
}

/// A server on a fresh socket that greets with `greeting`, reads one
/// request, then runs `answer` on the stream.
fn serve(
    greeting: &'static [u8],
    answer: impl FnOnce(&mut std::os::unix::net::UnixStream) + Send + 'static,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(greeting).unwrap();
        let mut head = [0u8; 2];
        if s.read_exact(&mut head).is_ok() {
            let mut key = vec![0u8; head[1] as usize];
            let _ = s.read_exact(&mut key);
            answer(&mut s);
        }
        std::thread::sleep(Duration::from_secs(2));
    });
    (dir, path)
}

fn get(path: &Path) -> Result<Option<Vec<u8>>, RemoteError> {
    match Conn::open(path, quick()) {
        Ok(mut c) => c.get(b"k"),
        Err(ConnectError::Other(e)) => Err(e),
        Err(ConnectError::NoListener(m)) => Err(RemoteError::Other(m)),
    }
}

#[test]
fn a_value_a_miss_and_an_error_message() {
    let (_d, p) = serve(b"\x01\x01\x00", |s| {
        s.write_all(&[0]).unwrap();
        s.write_all(&3u64.to_ne_bytes()).unwrap();
        s.write_all(b"abc").unwrap();
    });
    assert_eq!(get(&p).unwrap(), Some(b"abc".to_vec()));
    let (_d, p) = serve(b"\x01\x01\x00", |s| s.write_all(&[1]).unwrap());
    assert_eq!(get(&p).unwrap(), None);
    let (_d, p) = serve(b"\x01\x01\x00", |s| s.write_all(b"\x02\x04bo\nm").unwrap());
    let e = get(&p).unwrap_err().to_string();
    assert_eq!(e, "storage helper: bo m");
}

#[test]
fn garbage_is_an_error_and_silence_a_timeout() {
    for greeting in [&b"\x02\x01\x00"[..], b"\x01\x01\x05", b"\x01\x00"] {
        let (_d, p) = serve(greeting, |_| {});
        assert!(
            matches!(get(&p), Err(RemoteError::Other(_))),
            "{greeting:?}"
        );
    }
    let (_d, p) = serve(b"\x01\x01\x00", |s| s.write_all(&[9]).unwrap());
    assert!(matches!(get(&p), Err(RemoteError::Other(m)) if m.contains("0x09")));
    // Announced over the limit: refused before a byte of it is read.
    let (_d, p) = serve(b"\x01\x01\x00", |s| {
        s.write_all(&[0]).unwrap();
        s.write_all(&(MAX_ENTRY + 1).to_ne_bytes()).unwrap();
    });
    assert!(matches!(get(&p), Err(RemoteError::Other(m)) if m.contains("limit")));
    let (_d, p) = serve(b"\x01\x01\x00", |_| {});
    let start = Instant::now();
    assert!(matches!(get(&p), Err(RemoteError::Timeout(_))));
    assert!(start.elapsed() < Duration::from_millis(500));
}

#[test]
fn a_dripping_helper_is_cut_by_the_request_timeout() {
    let (_d, p) = serve(b"\x01\x01\x00", |s| {
        s.write_all(&[0]).unwrap();
        s.write_all(&100u64.to_ne_bytes()).unwrap();
        for _ in 0..100 {
            if s.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let start = Instant::now();
    let e = get(&p).unwrap_err();
    assert!(
        matches!(e, RemoteError::Timeout(ref m) if m.contains("request-timeout")),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_millis(900));
}

#[test]
fn nobody_listening_is_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.sock");
    assert!(matches!(
        Conn::open(&missing, quick()),
        Err(ConnectError::NoListener(_))
    ));
    let long = dir.path().join("x".repeat(120));
    assert!(matches!(
        Conn::open(&long, quick()),
        Err(ConnectError::Other(RemoteError::Other(m))) if m.contains("too long")
    ));
}

#[test]
fn keys_are_binary_with_the_kind_letter() {
    let name = format!("{}R", "ab".repeat(32));
    let key = helper_key(&name);
    assert_eq!(key.len(), 33);
    assert_eq!(key[0], 0xab);
    assert_eq!(key[32], b'R');
    assert_eq!(helper_key("probe"), b"probe");
}

#[test]
fn the_socket_name_follows_the_url_and_the_custom_attributes() {
    let a = spec("dirtest:///d @x=1 data-timeout=5s idle-timeout=1m");
    let attrs = custom_attributes(&a);
    assert_eq!(attrs, [("x".to_string(), "1".to_string())]);
    let name = endpoint_name(&a.url, &attrs);
    assert!(
        name.starts_with("storage-dirtest-") && name.len() == 16 + 40,
        "{name}"
    );
    // Properties do not change it, attributes and the URL do.
    let b = spec("dirtest:///d @x=1 read-only");
    assert_eq!(endpoint_name(&b.url, &custom_attributes(&b)), name);
    let c = spec("dirtest:///d @x=2");
    assert_ne!(endpoint_name(&c.url, &custom_attributes(&c)), name);
    assert_ne!(endpoint_name("dirtest:///e", &attrs), name);
    // ccache's older attributes without `@` are passed on.
    let h = spec("http://h/c layout=flat bearer-token=t");
    assert_eq!(custom_attributes(&h).len(), 2);
}

#[test]
fn builtin_forced_and_missing_helpers_are_not_found() {
    let search = HelperSearch::default();
    assert_eq!(search.find("http", Some("_builtin_")), None);
    assert_eq!(search.find("x", Some("/nonexistent/helper")), None);
    assert_eq!(search.find("no-such-scheme-here", None), None);
    let sh = search.find("x", Some("sh")).expect("sh is in PATH");
    assert!(sh.is_absolute());
}

#[test]
fn idle_timeouts_default_to_ten_minutes() {
    assert_eq!(
        spec("dirtest:///d").idle_timeout().unwrap(),
        DEFAULT_IDLE_TIMEOUT
    );
    assert_eq!(
        spec("dirtest:///d idle-timeout=0").idle_timeout().unwrap(),
        Duration::ZERO
    );
    assert!(crate::remote::parse("dirtest:///d idle-timeout=soon").is_err());
}
