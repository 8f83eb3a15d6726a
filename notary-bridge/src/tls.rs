//! TLS for both sides of the wire: the witness server's rustls config from
//! PEM files, and the blocking HTTP client that partners are reached with
//! (webpki roots plus an operator-supplied CA bundle, no redirects).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::BridgeError;

/// Longest time to set up a connection (TCP and TLS), within the request
/// timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A rustls server config from a PEM certificate chain (leaf first) and a
/// PEM private key (PKCS#8, PKCS#1 or SEC1), speaking HTTP/1.1.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, BridgeError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| BridgeError::Config(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(BridgeError::Config(format!("{}: no certificate", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| BridgeError::Config(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BridgeError::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| BridgeError::Config(format!("TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The blocking client used for partners (witnesses, TSAs): rustls with
/// the webpki roots or, for partners behind a private CA, only the CA
/// certificates in `ca_pem` (a PEM bundle: the partner is pinned to it,
/// and a certificate from a public CA is refused); a whole-request `timeout`;
/// redirects are not followed (a partner is reached at the URL the
/// operator configured, or not at all).
pub fn partner_client(
    timeout: Duration,
    ca_pem: Option<&str>,
) -> Result<reqwest::blocking::Client, BridgeError> {
    let mut builder = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .redirect(reqwest::redirect::Policy::none())
        .https_only(false);
    if let Some(pem) = ca_pem {
        builder = builder.tls_built_in_root_certs(false);
        for cert in ca_certificates(pem)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| BridgeError::Config(format!("HTTP client: {e}")))
}

/// The certificates of a PEM bundle; at least one, all parseable.
pub fn ca_certificates(pem: &str) -> Result<Vec<reqwest::Certificate>, BridgeError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| BridgeError::Config(format!("CA bundle: {e}")))?;
    if certs.is_empty() {
        return Err(BridgeError::Config("CA bundle: no PEM certificate in it".into()));
    }
    // reqwest parses lazily; make sure rustls will accept each one.
    for block in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        block.map_err(|e| BridgeError::Config(format!("CA bundle: {e}")))?;
    }
    Ok(certs)
}
