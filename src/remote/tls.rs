//! TLS for `https://` and `rediss://`: rustls with the ring provider, so
//! no OpenSSL is loaded and the static release build stays static.
//!
//! Trust: the system's roots (as OpenSSL finds them: `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` when set, else the distribution's bundle and
//! `/etc/ssl/certs`) plus the certificates of `ca-file=PATH`, a PEM file of
//! a private CA. Certificates are always verified, host name included:
//! there is no switch to turn that off, and a URL that asks for it
//! (`rediss://…#insecure`) is refused. Nothing here runs unless a TLS
//! backend is opened, which happens on the first remote request.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::BackendSpec;

/// The attribute naming a PEM file of extra trusted CA certificates.
/// ccache 4.13 has none (its HTTPS helpers read only `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`, which objcache honours too).
pub const CA_FILE: &str = "ca-file";

/// The largest `ca-file` read: a system bundle is about 200 KB.
const MAX_CA_FILE: u64 = 4 << 20;

/// The crypto provider every TLS connection uses: ring. rustls 0.23.48
/// deprecates it for want of post-quantum key exchange; its alternative,
/// aws-lc-rs, needs CMake to build, makes the binary larger and its
/// start-up slower, for connections that carry build objects.
#[allow(deprecated)]
fn ring() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring())
}

/// Makes ring the process's provider, for clients that take the process
/// default (the Redis client). Installing twice is harmless.
pub fn install_provider() {
    let _ = ring().install_default();
}

/// The certificates of `ca-file`, none when it is not set. A file that
/// cannot be read or holds no certificate is an error (the backend is
/// left out), never a silently smaller trust store.
pub fn private_roots(spec: &BackendSpec) -> Result<Vec<CertificateDer<'static>>, String> {
    let Some(path) = spec.attr(CA_FILE) else {
        return Ok(Vec::new());
    };
    if path.is_empty() {
        return Err(format!("{CA_FILE}: no file named"));
    }
    let read = |p: &std::path::Path| {
        let (file, len) = crate::files::open_regular_file(p)?;
        crate::files::read_at_most(file, len, MAX_CA_FILE)
    };
    let bytes = read(path.as_ref()).map_err(|e| format!("{CA_FILE} {path}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{CA_FILE} {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{CA_FILE} {path}: no certificate in it (a PEM file with \
             -----BEGIN CERTIFICATE----- expected)"
        ));
    }
    Ok(certs)
}

/// The system's trust roots followed by those of `ca-file`. Unreadable
/// files among the system's are passed over as OpenSSL does; no root at
/// all is an error.
pub fn roots(spec: &BackendSpec) -> Result<Vec<CertificateDer<'static>>, String> {
    let private = private_roots(spec)?;
    let (system, errors) = system_roots();
    let mut certs = system.clone();
    certs.extend(private);
    if certs.is_empty() {
        return Err(format!(
            "no trusted CA certificate: none in the system's store ({}) and no {CA_FILE} given",
            if errors.is_empty() { "empty" } else { errors }
        ));
    }
    Ok(certs)
}

/// The system's roots and why some could not be read, read once per
/// process (each shard of a sharded backend asks).
fn system_roots() -> &'static (Vec<CertificateDer<'static>>, String) {
    static SYSTEM: OnceLock<(Vec<CertificateDer<'static>>, String)> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        if let Some(why) = unreadable_cert_file() {
            return (Vec::new(), why);
        }
        let found = rustls_native_certs::load_native_certs();
        let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
        (found.certs, errors.join("; "))
    })
}

/// Why `SSL_CERT_FILE` must not be read: it names something other than a
/// regular file. The loader reads it whole, and a FIFO would keep it
/// waiting for a writer forever (entries of `SSL_CERT_DIR` that are not
/// regular files it passes over itself).
fn unreadable_cert_file() -> Option<String> {
    let path = std::env::var_os("SSL_CERT_FILE")?;
    let meta = std::fs::metadata(&path).ok()?;
    (!meta.is_file()).then(|| {
        format!(
            "SSL_CERT_FILE {}: not a regular file",
            std::path::Path::new(&path).display()
        )
    })
}

/// Certificates as PEM text, for clients that take only that.
pub fn to_pem(certs: &[CertificateDer<'_>]) -> Vec<u8> {
    let mut out = String::new();
    for cert in certs {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = super::http::base64(cert.as_ref());
        for line in text.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(attrs: &[(&str, &str)]) -> BackendSpec {
        BackendSpec {
            url: "https://cache.example/c".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn pem_round_trips() {
        let der: Vec<CertificateDer<'static>> = vec![
            CertificateDer::from((0..200u8).collect::<Vec<u8>>()),
            CertificateDer::from(vec![1, 2, 3]),
        ];
        let back = CertificateDer::pem_slice_iter(&to_pem(&der))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(back, der);
    }

    #[test]
    fn a_ca_file_without_certificates_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let missing = dir.path().join("missing.pem");
        for path in [&garbage, &missing, &dir.path().to_path_buf()] {
            let s = spec(&[(CA_FILE, path.to_str().unwrap())]);
            let e = private_roots(&s).unwrap_err();
            assert!(e.contains(path.to_str().unwrap()), "{e}");
        }
        assert!(private_roots(&spec(&[(CA_FILE, "")])).is_err());
        assert!(private_roots(&spec(&[])).unwrap().is_empty());
    }

    /// `ca-file` where no TLS is spoken would be a CA that is never
    /// used: an error, like a URL fragment that turns verification off.
    #[test]
    fn misplaced_tls_settings_are_errors() {
        let open = |line: &str| {
            let specs = crate::remote::parse(line).unwrap();
            crate::remote::Remote::open(&specs[0])
                .err()
                .unwrap_or_default()
        };
        assert!(open("http://127.0.0.1:1/c ca-file=/x.pem").contains("https:// only"));
        assert!(open("redis://127.0.0.1:1 ca-file=/x.pem").contains("rediss:// only"));
        assert!(open("rediss://127.0.0.1:1/#insecure").contains("always verified"));
        assert!(open("rediss://127.0.0.1:1#x").contains("always verified"));
    }

    #[test]
    fn a_fifo_as_ca_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.pem");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = private_roots(&spec(&[(CA_FILE, fifo.to_str().unwrap())])).unwrap_err();
        assert!(e.contains("fifo.pem"), "{e}");
    }
}
