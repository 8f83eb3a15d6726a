//! RFC 7512 `pkcs11:` URIs: which module, which token, which object, and
//! where the PIN comes from. The PIN's environment variable is the
//! ledger's name; the witness reads the same one.
//!
//! Supported path attributes (RFC 7512 §2.3): `token`, `serial`,
//! `manufacturer`, `model`, `slot-id`, `object`, `id`, `type`; query
//! attributes: `module-path`, `pin-source`, `pin-value`. Any other
//! attribute is refused rather than ignored: a URI names a key whose
//! signatures or wraps are evidence, so a typo must not quietly select
//! another object. An attribute given twice is refused (§2.3: "MUST NOT
//! appear more than once").

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::{Pkcs11Error, Result};

/// The environment variable read for the PIN when the URI names neither
/// `pin-source` nor `pin-value`.
pub const PIN_ENV: &str = "EVIDENCE_LEDGER_PKCS11_PIN";

/// Longest URI accepted (they are typed by operators; RFC 7512 sets no cap).
const MAX_URI: usize = 4096;

/// A parsed `pkcs11:` URI.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `manufacturer`: the token's manufacturer id.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the object label (CKA_LABEL).
    pub object: Option<String>,
    /// `id`: the object id (CKA_ID), raw bytes.
    pub id: Option<Vec<u8>>,
    /// `type`: public, private, secret-key, cert or data.
    pub object_type: Option<String>,
    /// `module-path`: the PKCS#11 library to load.
    pub module_path: PathBuf,
    /// `pin-source`: a file holding the PIN (a path or a `file:` URI).
    pub pin_source: Option<PathBuf>,
    /// `pin-value`: the PIN itself (never written back to disk).
    pub pin_value: Option<Zeroizing<String>>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored_string())
    }
}

fn bad(uri: &str, why: impl fmt::Display) -> Pkcs11Error {
    // The URI may carry pin-value: never echo it.
    let shown = uri.split('?').next().unwrap_or_default();
    Pkcs11Error::Config(format!("PKCS#11 URI {shown:?}: {why}"))
}

impl Pkcs11Uri {
    /// Parses an RFC 7512 URI. `module-path` is required (this service
    /// loads no module by guess), and so is `token` or `serial`, and
    /// `object` or `id`.
    pub fn parse(uri: &str) -> Result<Pkcs11Uri> {
        if uri.len() > MAX_URI {
            return Err(bad("", format!("longer than {MAX_URI} bytes")));
        }
        let rest = match uri.get(..7) {
            Some(s) if s.eq_ignore_ascii_case("pkcs11:") => &uri[7..],
            _ => return Err(bad(uri, "does not start with pkcs11:")),
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        if path.contains('#') || query.is_some_and(|q| q.contains('#')) {
            return Err(bad(uri, "a fragment (#) has no meaning here"));
        }
        let mut out = Pkcs11Uri {
            token: None,
            serial: None,
            manufacturer: None,
            model: None,
            slot_id: None,
            object: None,
            id: None,
            object_type: None,
            module_path: PathBuf::new(),
            pin_source: None,
            pin_value: None,
        };
        let mut module_path = None;
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) =
                attr.split_once('=').ok_or_else(|| bad(uri, "attribute without ="))?;
            let bytes = pct_decode(value).map_err(|e| bad(uri, format!("{name}: {e}")))?;
            out.set_path_attr(name, bytes).map_err(|e| bad(uri, e))?;
        }
        for attr in query.into_iter().flat_map(|q| q.split('&')).filter(|a| !a.is_empty()) {
            let (name, value) =
                attr.split_once('=').ok_or_else(|| bad(uri, "attribute without ="))?;
            let bytes = pct_decode(value).map_err(|e| bad(uri, format!("{name}: {e}")))?;
            let text = utf8(name, bytes).map_err(|e| bad(uri, e))?;
            match name {
                "module-path" => once(&mut module_path, PathBuf::from(text), name),
                "pin-source" => once(&mut out.pin_source, pin_source_path(&text)?, name),
                "pin-value" => once(&mut out.pin_value, Zeroizing::new(text), name),
                _ => Err(format!("unsupported query attribute {name:?}")),
            }
            .map_err(|e| bad(uri, e))?;
        }
        out.module_path = module_path.ok_or_else(|| {
            bad(uri, "no module-path (e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so)")
        })?;
        if out.token.is_none() && out.serial.is_none() {
            return Err(bad(uri, "name the token (token= or serial=)"));
        }
        if out.object.is_none() && out.id.is_none() {
            return Err(bad(uri, "name the key (object= or id=)"));
        }
        if out.pin_value.is_some() && out.pin_source.is_some() {
            return Err(bad(uri, "pin-value and pin-source both given"));
        }
        Ok(out)
    }

    fn set_path_attr(&mut self, name: &str, bytes: Vec<u8>) -> std::result::Result<(), String> {
        match name {
            "id" => once(&mut self.id, bytes, name),
            "token" => once(&mut self.token, utf8(name, bytes)?, name),
            "serial" => once(&mut self.serial, utf8(name, bytes)?, name),
            "manufacturer" => once(&mut self.manufacturer, utf8(name, bytes)?, name),
            "model" => once(&mut self.model, utf8(name, bytes)?, name),
            "object" => once(&mut self.object, utf8(name, bytes)?, name),
            "slot-id" => {
                let text = utf8(name, bytes)?;
                let n = text.parse().map_err(|_| format!("slot-id {text:?} is not a number"))?;
                once(&mut self.slot_id, n, name)
            }
            "type" => {
                let text = utf8(name, bytes)?;
                if !["public", "private", "secret-key", "cert", "data"].contains(&text.as_str()) {
                    return Err(format!("type {text:?} is not one of RFC 7512's"));
                }
                once(&mut self.object_type, text, name)
            }
            _ => Err(format!("unsupported path attribute {name:?}")),
        }
    }

    /// The PIN: `pin-value`, else the first line of the `pin-source` file,
    /// else the environment variable [`PIN_ENV`].
    pub fn pin(&self) -> Result<Zeroizing<String>> {
        if let Some(v) = &self.pin_value {
            return Ok(v.clone());
        }
        if let Some(path) = &self.pin_source {
            refuse_shared(path)?;
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                Pkcs11Error::Config(format!("PKCS#11 pin-source {}: {e}", path.display()))
            })?);
            let line = text.lines().next().unwrap_or_default();
            return Ok(Zeroizing::new(line.to_string()));
        }
        match std::env::var(PIN_ENV) {
            Ok(v) => Ok(Zeroizing::new(v)),
            Err(_) => Err(Pkcs11Error::Config(format!(
                "no PIN for the PKCS#11 token: give pin-source=FILE in the URI, or set {PIN_ENV}"
            ))),
        }
    }

    /// The URI without `pin-value`: what a data directory records (a PIN
    /// is never written to disk by us; `pin-source` names a file and is kept).
    pub fn to_stored_string(&self) -> String {
        let mut path = Vec::new();
        let mut add = |name: &str, v: &[u8]| path.push(format!("{name}={}", pct_encode(v)));
        for (name, v) in [
            ("token", &self.token),
            ("serial", &self.serial),
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
            ("object", &self.object),
            ("type", &self.object_type),
        ] {
            if let Some(v) = v {
                add(name, v.as_bytes());
            }
        }
        if let Some(n) = self.slot_id {
            add("slot-id", n.to_string().as_bytes());
        }
        if let Some(id) = &self.id {
            add("id", id);
        }
        let mut query = vec![format!(
            "module-path={}",
            pct_encode(self.module_path.as_os_str().as_encoded_bytes())
        )];
        if let Some(p) = &self.pin_source {
            query.push(format!("pin-source={}", pct_encode(p.as_os_str().as_encoded_bytes())));
        }
        format!("pkcs11:{}?{}", path.join(";"), query.join("&"))
    }
}

/// Like the key files: a PIN file others may read or write is refused.
fn refuse_shared(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path)
        .map_err(|e| Pkcs11Error::Config(format!("PKCS#11 pin-source {}: {e}", path.display())))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Pkcs11Error::Config(format!(
            "PKCS#11 pin-source {} is readable by others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

fn once<T>(slot: &mut Option<T>, v: T, name: &str) -> std::result::Result<(), String> {
    if slot.is_some() {
        return Err(format!("{name} appears more than once"));
    }
    *slot = Some(v);
    Ok(())
}

fn utf8(name: &str, bytes: Vec<u8>) -> std::result::Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8"))
}

fn pin_source_path(text: &str) -> Result<PathBuf> {
    let path = text.strip_prefix("file://").or_else(|| text.strip_prefix("file:")).unwrap_or(text);
    if !path.starts_with('/') {
        return Err(Pkcs11Error::Config(format!(
            "PKCS#11 pin-source {text:?}: give an absolute file path (or a file: URI)"
        )));
    }
    Ok(PathBuf::from(path))
}

/// RFC 3986 percent-decoding (RFC 7512 values are pct-encoded octets).
fn pct_decode(s: &str) -> std::result::Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or("a % is not followed by two hex digits")?;
            let hex = std::str::from_utf8(hex).map_err(|_| "bad % escape")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad % escape %{hex}"))?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Encodes all but RFC 7512's unreserved characters and `/` (module paths).
fn pct_encode(v: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for &c in v {
        if c.is_ascii_alphanumeric() || b"-._~/".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    const MODULE: &str = "module-path=/usr/lib/softhsm/libsofthsm2.so";

    #[test]
    fn parses_rfc7512_examples_and_ours() {
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;object=my-key;id=%01%02;type=private?{MODULE}&pin-source=file:/etc/token.pin"
        ))
        .expect("parses");
        assert_eq!(u.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(u.object.as_deref(), Some("my-key"));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(u.object_type.as_deref(), Some("private"));
        assert_eq!(u.module_path, PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(u.pin_source, Some(PathBuf::from("/etc/token.pin")));
        // What a data directory records parses back to the same URI.
        assert_eq!(Pkcs11Uri::parse(&u.to_stored_string()).expect("again"), u);
    }

    #[test]
    fn pin_value_is_used_but_never_stored_or_shown() {
        let u = Pkcs11Uri::parse(&format!("PKCS11:token=t;object=k?{MODULE}&pin-value=1234"))
            .expect("parses");
        assert_eq!(u.pin().expect("pin").as_str(), "1234");
        assert!(!u.to_stored_string().contains("1234"));
        assert!(!format!("{u:?}").contains("1234"));
        let err = Pkcs11Uri::parse("pkcs11:token=t;objekt=k?pin-value=1234").expect_err("bad");
        assert!(!err.to_string().contains("1234"), "{err}");
    }

    #[test]
    fn refuses_what_it_cannot_mean() {
        for (uri, why) in [
            ("pkcs12:token=t;object=k", "pkcs11:"),
            ("pkcs11:token=t;object=k", "module-path"),
            (&format!("pkcs11:object=k?{MODULE}"), "name the token"),
            (&format!("pkcs11:token=t?{MODULE}"), "name the key"),
            (&format!("pkcs11:token=t;token=u;object=k?{MODULE}"), "more than once"),
            (&format!("pkcs11:token=t;objekt=k?{MODULE}"), "unsupported path attribute"),
            (&format!("pkcs11:token=t;object=k?{MODULE}&pin=1"), "unsupported query"),
            (&format!("pkcs11:token=t;object=k%2?{MODULE}"), "% is not followed"),
            (&format!("pkcs11:token=t;object=k%zz?{MODULE}"), "bad % escape"),
            (&format!("pkcs11:token=t;object=k;type=secret?{MODULE}"), "type"),
            (&format!("pkcs11:token=t;object=k;slot-id=x?{MODULE}"), "slot-id"),
            (&format!("pkcs11:token=t;object=k?{MODULE}&pin-source=rel.pin"), "absolute"),
            (&format!("pkcs11:token=t;object=k?{MODULE}&pin-source=/a&pin-value=1"), "both"),
            (&format!("pkcs11:token=t;object=%FF?{MODULE}"), "UTF-8"),
        ] {
            let err = Pkcs11Uri::parse(uri).expect_err(uri).to_string();
            assert!(err.contains(why), "{uri}: {err}");
        }
    }

    #[test]
    fn pin_comes_from_the_file_or_says_where_to_put_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pin = dir.path().join("pin");
        std::fs::write(&pin, "5678\n").expect("write");
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:token=t;object=k?{MODULE}&pin-source={}",
            pin.display()
        ))
        .expect("parses");
        let mode =
            |m| std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(m)).expect("chmod");
        mode(0o644);
        assert!(u.pin().expect_err("shared").to_string().contains("chmod 600"));
        mode(0o600);
        assert_eq!(u.pin().expect("pin").as_str(), "5678");
        std::fs::remove_file(&pin).expect("rm");
        assert!(u.pin().expect_err("gone").to_string().contains("pin-source"));
    }
}
