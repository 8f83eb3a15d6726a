//! The report's QR code (the 存证证书 habit): a link to the public verifier
//! page with the contract's document hash filled in, and the log key's
//! fingerprint to print beside it.
//!
//! The code itself comes from the `qrcode` crate; this module only turns
//! its modules into horizontal runs, which the HTML (SVG path) and PDF
//! (filled rectangles) renderers draw as vectors.

use sha2::{Digest, Sha256};
use verifier::note::NoteVerifier;

/// Modules of white border a reader needs around the code (ISO/IEC 18004
/// asks for 4).
pub const QUIET_ZONE: usize = 4;

/// The verifier page's path, as the server serves it (pinned: `GET /verify`).
pub const VERIFY_PATH: &str = "/verify";

/// A QR code's modules: a square of `width` × `width`, row by row.
#[derive(Clone, Debug, PartialEq)]
pub struct Modules {
    width: usize,
    dark: Vec<bool>,
}

impl Modules {
    /// The code for `text` at error correction level M (15%: a printed,
    /// possibly photocopied page), or `None` if it does not fit in a QR code.
    pub fn encode(text: &str) -> Option<Modules> {
        let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
        let width = code.width();
        let dark = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
        Some(Modules { width, dark })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// The dark modules as horizontal runs `(x, y, length)`, row by row:
    /// one rectangle per run keeps the drawing small.
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && self.is_dark(x, y) {
                    x += 1;
                }
                runs.push((start, y, x - start));
            }
        }
        runs
    }
}

/// The link the QR code holds: `<public URL>/verify#sha256=<64 hex>`, or the
/// path alone when the server has no public URL. The hash goes in the
/// fragment, which a browser does not send when it loads the page.
pub fn verify_link(public_url: Option<&str>, document_hash: &str) -> String {
    let base = public_url.map(|u| u.trim_end_matches('/')).unwrap_or("");
    format!("{base}{VERIFY_PATH}#sha256={document_hash}")
}

/// The log key's fingerprints for a reader to compare with the key the
/// court trusts.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyFingerprint {
    /// `<key name>+<key ID, 8 hex>`: the start of the C2SP vkey, which a
    /// reader can compare by eye (the key ID is a 32-bit hint, not proof).
    pub name_and_id: Option<String>,
    /// SHA-256 of the vkey text, first 128 bits, hex in groups of four:
    /// what `printf %s VKEY | sha256sum` starts with.
    pub sha256: String,
}

impl KeyFingerprint {
    /// The fingerprints of `vkey` (a C2SP verifier key).
    pub fn of(vkey: &str) -> KeyFingerprint {
        let name_and_id = NoteVerifier::from_vkey(vkey)
            .ok()
            .map(|v| format!("{}+{}", v.name, hex::encode(v.key_id)));
        let digest = hex::encode(&Sha256::digest(vkey.as_bytes())[..16]);
        let groups: Vec<&str> = (0..digest.len()).step_by(4).map(|i| &digest[i..i + 4]).collect();
        KeyFingerprint { name_and_id, sha256: groups.join(" ") }
    }
}

/// A public base URL for links in reports: `http(s)://host[:port][/path]`,
/// without credentials, query or fragment. Returns it without a trailing
/// slash.
pub fn check_public_url(s: &str) -> Result<String, String> {
    let bad = |why: &str| format!("--public-url {s:?}: {why}");
    let u = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if !matches!(u.scheme(), "https" | "http") {
        return Err(bad("not an http(s) URL"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("credentials do not belong in a printed link"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(bad("a base URL has no query or fragment"));
    }
    Ok(u.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `m` back with an independent decoder, from a greyscale image
    /// of it (3 pixels a module, with the quiet zone).
    fn decode(m: &Modules) -> String {
        let scale = 3;
        let side = (m.width() + 2 * QUIET_ZONE) * scale;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            let dark =
                mx >= QUIET_ZONE && my >= QUIET_ZONE && m.is_dark(mx - QUIET_ZONE, my - QUIET_ZONE);
            if dark {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code");
        grids[0].decode().expect("decodes").1
    }

    #[test]
    fn the_code_reads_back_as_the_link() {
        let link = verify_link(Some("https://ledger.example.com/"), &"ab".repeat(32));
        assert_eq!(link, format!("https://ledger.example.com/verify#sha256={}", "ab".repeat(32)));
        let m = Modules::encode(&link).expect("fits");
        assert_eq!(decode(&m), link);
        // The runs cover exactly the dark modules.
        let dark: usize = (0..m.width())
            .flat_map(|y| (0..m.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| m.is_dark(x, y))
            .count();
        assert_eq!(m.runs().iter().map(|r| r.2).sum::<usize>(), dark);
    }

    #[test]
    fn without_a_public_url_the_link_is_the_path() {
        assert_eq!(verify_link(None, "00"), "/verify#sha256=00");
    }

    #[test]
    fn fingerprint_names_the_key() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let signer = verifier::note::NoteSigner::new("ledger.example/log", key).expect("signer");
        let vkey = signer.vkey();
        let f = KeyFingerprint::of(&vkey);
        let name_and_id = f.name_and_id.expect("a C2SP vkey");
        assert!(vkey.starts_with(&format!("{name_and_id}+")), "{vkey} {name_and_id}");
        let full = hex::encode(Sha256::digest(vkey.as_bytes()));
        assert_eq!(f.sha256.replace(' ', ""), full[..32]);
        assert_eq!(f.sha256.len(), 32 + 7);
        assert_eq!(KeyFingerprint::of("not a vkey").name_and_id, None);
    }

    #[test]
    fn public_urls_are_checked() {
        assert_eq!(check_public_url("https://l.example/").as_deref(), Ok("https://l.example"));
        assert_eq!(
            check_public_url("http://l.example:8080/ledger/").as_deref(),
            Ok("http://l.example:8080/ledger")
        );
        for bad in [
            "l.example",
            "ftp://l.example",
            "https://u:p@l.example",
            "https://l.example/?a=1",
            "https://l.example/#x",
            "https://",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }
}
