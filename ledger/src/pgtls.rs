//! TLS to PostgreSQL: libpq's `sslmode` and `sslrootcert` URL parameters
//! (PostgreSQL documentation, "libpq: SSL Support", table "SSL Mode
//! Descriptions"), with rustls through `tokio-postgres-rustls`.
//!
//! The `postgres` client parses neither `verify-ca` nor `verify-full` nor
//! `sslrootcert`, so this module takes them out of the URL, and gives the
//! client a rustls connector that checks what the mode promises:
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | absent, `disable`, `allow`, `prefer` | not used (as before) | — |
//! | `require` | required | with `sslrootcert`: as `verify-ca`; without: not checked (libpq's rule) |
//! | `verify-ca` | required | chains to `sslrootcert` |
//! | `verify-full` | required | chains to `sslrootcert` and names the URL's host |
//!
//! `verify-ca` and `verify-full` need `sslrootcert` (a PEM file of CA
//! certificates); without it the URL is refused, never downgraded. Owns
//! no connection: [`crate::pg`] connects with what [`parse`] returns.

use std::sync::Arc;

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{LedgerError, Result};

/// How connections to one database are made.
#[derive(Clone)]
pub(crate) enum Tls {
    /// No TLS (no `sslmode`, or one that does not require it).
    Plain,
    /// TLS with the checks the `sslmode` asks for.
    Rustls(MakeRustlsConnect),
}

impl Tls {
    /// Connects with `config`.
    pub(crate) fn connect(&self, config: &Config) -> std::result::Result<Client, postgres::Error> {
        match self {
            Tls::Plain => config.connect(NoTls),
            Tls::Rustls(t) => config.connect(t.clone()),
        }
    }

    /// Sends a cancel request for the query of `token`'s session.
    pub(crate) fn cancel(&self, token: &postgres::CancelToken) -> Result<(), postgres::Error> {
        match self {
            Tls::Plain => token.cancel_query(NoTls),
            Tls::Rustls(t) => token.cancel_query(t.clone()),
        }
    }
}

/// The client configuration of `url` and its TLS, `sslmode` and
/// `sslrootcert` taken out of the URL and applied here.
pub(crate) fn parse(url: &str) -> Result<(Config, Tls)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (mut mode, mut root) = (None, None);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => mode = Some(percent_decode(v)?),
            "sslrootcert" => root = Some(percent_decode(v)?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
    let mut config: Config = format!("{base}{rest}").parse().map_err(bad_url)?;
    let roots = root.as_deref().map(load_roots).transpose()?;
    let verifier: Arc<dyn ServerCertVerifier> = match (mode.as_deref(), roots) {
        (None | Some("allow" | "prefer"), _) => return Ok((config, Tls::Plain)),
        (Some("disable"), _) => {
            config.ssl_mode(SslMode::Disable);
            return Ok((config, Tls::Plain));
        }
        (Some("verify-full"), Some(roots)) => webpki(roots)?,
        (Some("verify-ca" | "require"), Some(roots)) => Arc::new(AnyName(webpki(roots)?)),
        (Some("require"), None) => Arc::new(Unchecked(provider())),
        (Some(m @ ("verify-ca" | "verify-full")), None) => {
            return Err(LedgerError::InvalidRequest(format!(
                "sslmode={m} needs sslrootcert=PATH (a PEM file of the CA certificates that \
                 sign the database server's certificate)"
            )))
        }
        (Some(m), _) => {
            return Err(LedgerError::InvalidRequest(format!(
                "sslmode={m}: expected disable, allow, prefer, require, verify-ca or verify-full"
            )))
        }
    };
    config.ssl_mode(SslMode::Require);
    let tls = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((config, Tls::Rustls(MakeRustlsConnect::new(tls))))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn bad_url(e: postgres::Error) -> LedgerError {
    LedgerError::InvalidRequest(format!("the PostgreSQL URL: {e}"))
}

fn tls_err(e: rustls::Error) -> LedgerError {
    LedgerError::InvalidRequest(format!("TLS to PostgreSQL: {e}"))
}

/// `%XX` escapes of a URL parameter's value (a path may need them).
fn percent_decode(v: &str) -> Result<String> {
    let bad = || LedgerError::InvalidRequest(format!("a bad %-escape in the URL: {v:?}"));
    let mut out = Vec::with_capacity(v.len());
    let mut bytes = v.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = [bytes.next().ok_or_else(bad)?, bytes.next().ok_or_else(bad)?];
        let s = std::str::from_utf8(&hex).map_err(|_| bad())?;
        out.push(u8::from_str_radix(s, 16).map_err(|_| bad())?);
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// The CA certificates of a PEM file; at least one.
fn load_roots(path: &str) -> Result<RootCertStore> {
    let cannot =
        |e: &dyn std::fmt::Display| LedgerError::InvalidRequest(format!("sslrootcert={path}: {e}"));
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| cannot(&e))? {
        roots.add(cert.map_err(|e| cannot(&e))?).map_err(|e| cannot(&e))?;
    }
    if roots.is_empty() {
        return Err(cannot(&"no certificate in the file"));
    }
    Ok(roots)
}

fn webpki(roots: RootCertStore) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| LedgerError::InvalidRequest(format!("sslrootcert: {e}")))
}

/// `verify-ca`: the chain must reach a root of `sslrootcert`; the name
/// is not checked (the chain is checked first, so a name error means the
/// chain was good).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without `sslrootcert`: encryption against a passive
/// listener only, as in libpq (docs/postgres.md says to use verify-full).
/// The handshake's signatures are still checked against the certificate.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_parameters_are_taken_out_of_the_url_and_checked() {
        let (c, tls) = parse("postgres://u@h:5/db?connect_timeout=3").expect("plain");
        assert!(matches!(tls, Tls::Plain));
        assert_eq!(c.get_connect_timeout(), Some(&std::time::Duration::from_secs(3)));
        let (_, tls) = parse("postgres://u@h/db?sslmode=require").expect("require");
        assert!(matches!(tls, Tls::Rustls(_)));
        for bad in [
            "postgres://u@h/db?sslmode=verify-full",
            "postgres://u@h/db?sslmode=verify-ca",
            "postgres://u@h/db?sslmode=sometimes",
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem",
            "postgres://u@h/db?sslmode=require&sslrootcert=%zz",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(percent_decode("/a%20b%2Fc").expect("decode"), "/a b/c");
    }
}
