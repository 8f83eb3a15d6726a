//! `verifier verify BUNDLE --policy FILE ...` checks an evidence bundle
//! offline (no network) against the keys the person verifying chose, and
//! prints each check, the verdict and the rebuilt evidence chain.
//! `verifier pdf SIGNED.pdf --policy FILE [--bundle BUNDLE]` checks the
//! contract PDF's own signatures against the policy's CA and TSA roots.
//! `verifier ers RECORD --bundle BUNDLE --policy FILE` checks an RFC 4998
//! evidence record over the bundle it covers (docs/long-term.md).
//! `verifier report REPORT --bundle BUNDLE --policy FILE` checks an
//! evidence report file the ledger issued against the contract's bundle.
//! `verifier policy fetch URL` writes a starting policy from a ledger's
//! `/v1/log`; `verifier policy show FILE` reads one back.
//!
//! Exit status of `verify`: the verdict's (docs/trust-policy.md §3): 0
//! verified, 1 a check failed, 3 no trusted log key, 4 witness quorum not
//! met, 5 timestamps not anchored; 2 on a usage or file error. Of `pdf`
//! (docs/pdf-signatures.md §7): 0 verified, 1 a signature fails (or none),
//! 6 a signer or timestamp not trusted, 7 bytes after the last signature,
//! 8 the bundle does not verify or holds no signed revision; 2 as above.

// Under verifier/, not beside this file: cargo would take src/bin/ers.rs
// for a binary of its own.
#[path = "verifier/ers.rs"]
mod ers;
#[path = "verifier/issued.rs"]
mod issued;

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use sha2::{Digest as _, Sha256};
use verifier::bundle::{
    signed_documents, verify_bundle_bytes, verify_lookup_bytes, Bundle, VerifyOptions,
    LOOKUP_FORMAT_V2, MAX_BUNDLE_BYTES,
};
use verifier::pdf::{match_bundle, verify_pdf, MAX_PDF_BYTES};
use verifier::policy::{TrustPolicy, MAX_POLICY_BYTES, MAX_ROOT_PEM_BYTES};
use verifier::report::{json_terminal_safe, terminal_safe, wrap_for_terminal};
use verifier::suite::Suite;
use verifier::Hash;

const USAGE: &str = "\
usage: verifier verify BUNDLE [--policy FILE] [--document FILE] [--json]
                       [--log-key VKEY ...] [--witness VKEY ...] [--witness-threshold K]
                       [--tsa-root NAME=FILE.pem ...] [--ca-root NAME=FILE.pem ...]
                       [--issuer NAME=BASE64 ...] [--suite ed25519-sha256|sm2-sm3]
       verifier pdf SIGNED.pdf [--policy FILE] [--bundle BUNDLE] [--json]
                       [--ca-root NAME=FILE.pem ...] [--tsa-root NAME=FILE.pem ...]
       verifier ers RECORD --bundle BUNDLE [--policy FILE] [--document FILE]
                       [--tsa-root NAME=FILE.pem ...] [--json]
       verifier report REPORT --bundle BUNDLE [--policy FILE] [verify's key options] [--json]
       verifier policy fetch URL [--out FILE]
       verifier policy show FILE

verify: checks an evidence bundle offline against the keys YOU trust.
  BUNDLE               the evidence bundle (JSON) to check
  --policy FILE        your trust policy (docs/trust-policy.md): log keys,
                       witness keys and quorum, TSA roots, pinned issuers
  --document FILE      the document you hold; its SHA-256 must match the evidence
  --log-key VKEY       a log key you trust (adds to the policy; repeatable)
  --witness VKEY       a witness key you trust (cosignature/v1; repeatable)
  --witness-threshold K  how many distinct trusted witnesses must have
                       countersigned (default: all of them)
  --tsa-root NAME=FILE a TSA root certificate (PEM) you trust (repeatable)
  --ca-root NAME=FILE  a CA root (PEM) of certified SM2 issuers you trust (repeatable)
  --issuer NAME=KEY    pin an attestation issuer's Ed25519 key (repeatable)
  --suite NAME         the log's suite (ed25519-sha256 or sm2-sm3); without it
                       and without a policy file, the suite of the --log-key
                       given (an SM2 key: sm2-sm3); a policy file's `suite`
                       line otherwise
  --json               print the report as JSON
  Keys inside the bundle are claims, never trusted: without a log key the
  verdict is NOT VERIFIED.

pdf: checks the signatures of a signed PDF offline (docs/pdf-signatures.md):
  each signature's bytes and CMS signature, its signer certificate and its
  path to a `ca` root of your policy, the signing time (a signature
  timestamp from a `tsa` root of your policy, else the signer's claim), each
  signed revision's SHA-256, and whether bytes follow the last signature.
  --bundle BUNDLE      also verify this evidence bundle against the policy and
                       match each signed revision to its `signed` events
  --ca-root NAME=FILE  a CA root certificate (PEM) you trust for signers
  --tsa-root NAME=FILE a TSA root certificate (PEM) you trust

ers: checks an RFC 4998 evidence record (DER) over the bundle it covers:
  each chain's hash tree, each timestamp's imprint and TSA (a `tsa` root of
  your policy), each renewal covering the one before, each TSA certificate
  valid when the next renewal was made and the newest valid now; prints
  from which date to which date the evidence is covered, by which hashes.
  Exit status 0 verified, 1 not, 2 usage or file error.

report: checks an evidence report file (HTML or PDF) the ledger issued: its
  SHA-256 must be named by a report_issued entry of BUNDLE (the contract's
  bundle, fetched after the report), attested by the log's own key
  (Ed25519, or SM2 on an sm2-sm3 log), and BUNDLE must verify under the keys
  you trust. Exit status 0 verified, 1 not, 2 usage or file error.

policy fetch: writes a starting policy from URL/v1/log (the ledger's own word:
  compare its keys with ones published elsewhere before relying on it).
policy show: reads a policy file and prints what it trusts.

Exit status of verify: 0 verified, 1 a check failed, 3 no trusted log key,
4 witness quorum not met, 5 timestamps from untrusted TSAs, 2 usage or file error.
Exit status of pdf: 0 verified, 1 a signature fails (or none), 6 a signer or
signature timestamp not from your policy, 7 bytes added after the last
signature, 8 the bundle does not verify or holds no signed revision, 2 usage
or file error.";

/// A usage or file error: message for stderr, exit status 2.
struct Fatal(String);

impl From<String> for Fatal {
    fn from(s: String) -> Fatal {
        Fatal(s)
    }
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "-h" || a == "--help") {
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    let outcome = match raw.first().map(String::as_str) {
        Some("verify") => verify(&raw[1..]),
        Some("pdf") => pdf(&raw[1..]),
        Some("ers") => ers::run(&raw[1..]),
        Some("report") => issued::run(&raw[1..]),
        Some("policy") => policy(&raw[1..]).map(|()| 0),
        Some(other) => Err(Fatal(format!("unknown command {:?}", terminal_safe(other)))),
        None => Err(Fatal("missing command".into())),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(Fatal(msg)) => {
            let _ = writeln!(std::io::stderr(), "verifier: {}\n\n{USAGE}", terminal_safe(&msg));
            ExitCode::from(2)
        }
    }
}

/// Parsed `verify` command line.
#[derive(Default)]
struct VerifyArgs {
    bundle: Option<String>,
    document: Option<String>,
    policy_file: Option<String>,
    log_keys: Vec<String>,
    witnesses: Vec<String>,
    threshold: Option<usize>,
    tsa_roots: Vec<String>,
    ca_roots: Vec<String>,
    issuers: Vec<String>,
    suite: Option<String>,
    json: bool,
}

/// Runs `verify`; `Ok(exit status)` once a report is printed.
fn verify(raw: &[String]) -> Result<u8, Fatal> {
    let args = parse_verify_args(raw)?;
    let bundle_path = args.bundle.clone().ok_or_else(|| Fatal("missing BUNDLE".into()))?;
    let (policy, source) = build_policy(&args)?;
    let bundle = read_capped(&bundle_path, MAX_BUNDLE_BYTES)?;
    let mut options = VerifyOptions::with_policy(policy, source);
    if let Some(path) = &args.document {
        options.document_hash = Some(hash_file(path)?);
    }
    // A saved `GET /v1/lookup` answer is checked as the page checks it.
    let report = if is_lookup_answer(&bundle) {
        verify_lookup_bytes(&bundle, &options)
    } else {
        verify_bundle_bytes(&bundle, &options)
    };
    print_report(args.json, &report, || report.to_text())?;
    Ok(report.verdict.status.exit_code())
}

/// Whether `bytes` are JSON whose `format` is a lookup answer's; anything
/// else (a bundle, or not JSON at all) goes to the bundle verifier, which
/// says what is wrong with it.
fn is_lookup_answer(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Format {
        format: Option<String>,
    }
    serde_json::from_slice::<Format>(bytes)
        .is_ok_and(|f| f.format.as_deref() == Some(LOOKUP_FORMAT_V2))
}

/// Prints a report: JSON for programs (every invisible character escaped),
/// or else its text, wrapped for a terminal.
fn print_report(
    json: bool,
    report: &impl serde::Serialize,
    text: impl FnOnce() -> String,
) -> Result<(), Fatal> {
    let out = if json {
        let json = serde_json::to_string_pretty(report).map_err(|e| Fatal(e.to_string()))?;
        json_terminal_safe(&json) + "\n"
    } else {
        wrap_for_terminal(&text())
    };
    // A closed stdout (e.g. `| head`) must not turn a verdict into a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(())
}

/// Command-line words as options: `--flag value`, `--flag=value`, or a
/// positional argument.
struct Args<'a>(std::slice::Iter<'a, String>);

impl<'a> Args<'a> {
    /// The next word: (flag or argument, value given inline, the word).
    fn next(&mut self) -> Option<(&'a str, Option<String>, &'a String)> {
        let arg = self.0.next()?;
        Some(match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned()), arg),
            _ => (arg.as_str(), None, arg),
        })
    }

    /// The value of `flag`: given inline, else the next word.
    fn value(&mut self, flag: &str, inline: Option<String>) -> Result<String, Fatal> {
        inline
            .or_else(|| self.0.next().cloned())
            .ok_or_else(|| Fatal(format!("{flag} needs a value")))
    }
}

fn parse_verify_args(raw: &[String]) -> Result<VerifyArgs, Fatal> {
    let mut args = VerifyArgs::default();
    let mut a = Args(raw.iter());
    while let Some((flag, inline, arg)) = a.next() {
        let mut value = || a.value(flag, inline.clone());
        match flag {
            "--json" if inline.is_none() => args.json = true,
            "--document" if args.document.is_none() => args.document = Some(value()?),
            "--policy" if args.policy_file.is_none() => args.policy_file = Some(value()?),
            "--log-key" => args.log_keys.push(value()?),
            "--witness" => args.witnesses.push(value()?),
            "--witness-threshold" if args.threshold.is_none() => {
                let v = value()?;
                let k = v.parse().map_err(|_| Fatal(format!("--witness-threshold {v:?}")))?;
                args.threshold = Some(k);
            }
            "--tsa-root" => args.tsa_roots.push(value()?),
            "--ca-root" => args.ca_roots.push(value()?),
            "--issuer" => args.issuers.push(value()?),
            "--suite" if args.suite.is_none() => args.suite = Some(value()?),
            f if f.starts_with('-') && f.len() > 1 => {
                return Err(Fatal(format!("unknown or repeated option {f}")))
            }
            _ if args.bundle.is_none() => args.bundle = Some(arg.clone()),
            _ => return Err(Fatal(format!("unexpected argument {arg:?}"))),
        }
    }
    Ok(args)
}

/// The policy file, plus the keys given as options; and where it came from.
fn build_policy(args: &VerifyArgs) -> Result<(TrustPolicy, String), Fatal> {
    let mut policy = match &args.policy_file {
        Some(path) => {
            let text = read_text(path, MAX_POLICY_BYTES)?;
            TrustPolicy::parse(&text).map_err(|e| Fatal(format!("{path}: {e}")))?
        }
        None => TrustPolicy::default(),
    };
    for k in &args.log_keys {
        policy.add_log(k).map_err(|e| Fatal(format!("--log-key: {e}")))?;
    }
    for k in &args.witnesses {
        policy.add_witness(k).map_err(|e| Fatal(format!("--witness: {e}")))?;
    }
    for spec in &args.tsa_roots {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| Fatal(format!("--tsa-root {spec:?}: expected NAME=FILE.pem")))?;
        let pem = read_text(file, MAX_ROOT_PEM_BYTES)?;
        policy.add_tsa(name, &pem).map_err(|e| Fatal(format!("--tsa-root: {e}")))?;
    }
    for spec in &args.ca_roots {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| Fatal(format!("--ca-root {spec:?}: expected NAME=FILE.pem")))?;
        let pem = read_text(file, MAX_ROOT_PEM_BYTES)?;
        policy.add_ca(name, &pem).map_err(|e| Fatal(format!("--ca-root: {e}")))?;
    }
    for spec in &args.issuers {
        let (name, key) = spec
            .split_once('=')
            .ok_or_else(|| Fatal(format!("--issuer {spec:?}: expected NAME=BASE64")))?;
        policy.add_issuer(name, key).map_err(|e| Fatal(format!("--issuer: {e}")))?;
    }
    if args.threshold.is_some() {
        policy.quorum = args.threshold;
    }
    let named = match &args.suite {
        Some(n) => Some(Suite::parse(n).map_err(|e| Fatal(format!("--suite: {e}")))?),
        None => None,
    };
    policy.settle_suite(named, args.policy_file.is_some()).map_err(Fatal)?;
    policy.check_quorum().map_err(|e| Fatal(e.to_string()))?;
    let options = !(args.log_keys.is_empty()
        && args.suite.is_none()
        && args.witnesses.is_empty()
        && args.tsa_roots.is_empty()
        && args.ca_roots.is_empty()
        && args.issuers.is_empty()
        && args.threshold.is_none());
    let source = match (&args.policy_file, options) {
        (Some(p), false) => format!("your policy file {p}"),
        (Some(p), true) => format!("your policy file {p} and command-line options"),
        (None, true) => "your command-line options".to_owned(),
        (None, false) => "nothing: no policy file or key was given".to_owned(),
    };
    Ok((policy, source))
}

/// Parsed `pdf` command line.
#[derive(Default)]
struct PdfArgs {
    pdf: Option<String>,
    policy_file: Option<String>,
    bundle: Option<String>,
    ca_roots: Vec<String>,
    tsa_roots: Vec<String>,
    json: bool,
}

/// Runs `pdf`; `Ok(exit status)` once a report is printed.
fn pdf(raw: &[String]) -> Result<u8, Fatal> {
    let args = parse_pdf_args(raw)?;
    let path = args.pdf.clone().ok_or_else(|| Fatal("missing SIGNED.pdf".into()))?;
    let (policy, source) = pdf_policy(&args)?;
    let bytes = read_capped(&path, MAX_PDF_BYTES)?;
    let now = now_unix();
    let mut report = verify_pdf(&bytes, &policy, now);
    if let Some(bundle_path) = &args.bundle {
        let bundle = read_capped(bundle_path, MAX_BUNDLE_BYTES)?;
        let mut options = VerifyOptions::with_policy(policy, source);
        options.now_unix = Some(now);
        let verdict = verify_bundle_bytes(&bundle, &options);
        let signed = Bundle::parse(&bundle).map(|b| signed_documents(&b)).unwrap_or_default();
        report = match_bundle(report, verdict.passed, &verdict.verdict.summary, &signed);
    }
    print_report(args.json, &report, || report.to_text())?;
    Ok(report.verdict.status.exit_code())
}

fn parse_pdf_args(raw: &[String]) -> Result<PdfArgs, Fatal> {
    let mut args = PdfArgs::default();
    let mut a = Args(raw.iter());
    while let Some((flag, inline, arg)) = a.next() {
        let mut value = || a.value(flag, inline.clone());
        match flag {
            "--json" if inline.is_none() => args.json = true,
            "--policy" if args.policy_file.is_none() => args.policy_file = Some(value()?),
            "--bundle" if args.bundle.is_none() => args.bundle = Some(value()?),
            "--ca-root" => args.ca_roots.push(value()?),
            "--tsa-root" => args.tsa_roots.push(value()?),
            f if f.starts_with('-') && f.len() > 1 => {
                return Err(Fatal(format!("unknown or repeated option {f}")))
            }
            _ if args.pdf.is_none() => args.pdf = Some(arg.clone()),
            _ => return Err(Fatal(format!("unexpected argument {arg:?}"))),
        }
    }
    Ok(args)
}

/// The policy file plus `--ca-root` and `--tsa-root`; and where it came from.
fn pdf_policy(args: &PdfArgs) -> Result<(TrustPolicy, String), Fatal> {
    let mut policy = match &args.policy_file {
        Some(path) => {
            let text = read_text(path, MAX_POLICY_BYTES)?;
            TrustPolicy::parse(&text).map_err(|e| Fatal(format!("{path}: {e}")))?
        }
        None => TrustPolicy::default(),
    };
    for (specs, what) in [(&args.ca_roots, "--ca-root"), (&args.tsa_roots, "--tsa-root")] {
        for spec in specs {
            let (name, file) = spec
                .split_once('=')
                .ok_or_else(|| Fatal(format!("{what} {spec:?}: expected NAME=FILE.pem")))?;
            let pem = read_text(file, MAX_ROOT_PEM_BYTES)?;
            let added = if what == "--ca-root" {
                policy.add_ca(name, &pem)
            } else {
                policy.add_tsa(name, &pem)
            };
            added.map_err(|e| Fatal(format!("{what}: {e}")))?;
        }
    }
    let options = !(args.ca_roots.is_empty() && args.tsa_roots.is_empty());
    let source = match (&args.policy_file, options) {
        (Some(p), false) => format!("your policy file {p}"),
        (Some(p), true) => format!("your policy file {p} and command-line options"),
        (None, true) => "your command-line options".to_owned(),
        (None, false) => "nothing: no policy file or key was given".to_owned(),
    };
    Ok((policy, source))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Runs `policy fetch` or `policy show`.
fn policy(raw: &[String]) -> Result<(), Fatal> {
    match raw {
        [cmd, file] if cmd == "show" => {
            let policy = TrustPolicy::parse(&read_text(file, MAX_POLICY_BYTES)?)
                .map_err(|e| Fatal(format!("{file}: {e}")))?;
            for line in policy.to_text().lines() {
                let _ = writeln!(std::io::stdout(), "{}", terminal_safe(line));
            }
            Ok(())
        }
        [cmd, url, rest @ ..] if cmd == "fetch" => {
            let out = match rest {
                [] => None,
                [flag, file] if flag == "--out" => Some(file.as_str()),
                _ => return Err(Fatal("policy fetch URL [--out FILE]".into())),
            };
            fetch::run(url, out)
        }
        _ => Err(Fatal("policy fetch URL [--out FILE] | policy show FILE".into())),
    }
}

#[cfg(feature = "fetch")]
mod fetch {
    //! `policy fetch`: the one place this binary touches the network.

    use std::io::Write as _;
    use std::time::Duration;

    use serde_json::Value;
    use verifier::policy::TrustPolicy;
    use verifier::report::terminal_safe;

    use super::Fatal;

    /// Largest `/v1/log` answer read.
    const MAX_ANSWER: u64 = 1 << 20;

    pub(super) fn run(url: &str, out: Option<&str>) -> Result<(), Fatal> {
        if !secure_enough(url) {
            return Err(Fatal(format!(
                "{url}: fetch a policy over https:// (plain http:// only from this machine)"
            )));
        }
        let base = url.trim_end_matches('/').trim_end_matches("/v1/log");
        let endpoint = format!("{base}/v1/log");
        let answer = get(&endpoint)?;
        let policy =
            TrustPolicy::from_log_json(&answer).map_err(|e| Fatal(format!("{endpoint}: {e}")))?;
        let text = format!(
            "# Trust policy written by `verifier policy fetch` from {endpoint}\n\
             # at {}.\n\
             #\n\
             # WARNING: these keys are the ledger's own word about itself. A policy taken\n\
             # from the ledger proves nothing until you have compared each key below with\n\
             # one published elsewhere: the log key with the operator's own publication,\n\
             # each witness key with the one its operator (the notary office, the court)\n\
             # publishes. Then keep this file, and use it for every verification.\n\n{}",
            now_rfc3339(),
            policy.to_text()
        );
        // What is written must read back as exactly what was fetched: no
        // line of the answer can smuggle a key or a quorum into the file.
        if TrustPolicy::parse(&text).as_ref() != Ok(&policy) {
            return Err(Fatal(format!("{endpoint}: the answer does not make a clean policy")));
        }
        match out {
            Some(path) => std::fs::write(path, &text).map_err(|e| Fatal(format!("{path}: {e}")))?,
            None => {
                for line in text.lines() {
                    let _ = writeln!(std::io::stdout(), "{}", terminal_safe(line));
                }
            }
        }
        let _ = writeln!(
            std::io::stderr(),
            "verifier: this policy came from the ledger itself; compare its keys with ones \
             published by the log operator and each witness operator before relying on it."
        );
        Ok(())
    }

    fn get(url: &str) -> Result<Value, Fatal> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Fatal(e.to_string()))?;
        let resp = client.get(url).send().map_err(|e| Fatal(format!("{url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(Fatal(format!("{url}: HTTP {}", resp.status())));
        }
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(resp, MAX_ANSWER), &mut body)
            .map_err(|e| Fatal(format!("{url}: {e}")))?;
        serde_json::from_slice(&body).map_err(|e| Fatal(format!("{url}: not JSON ({e})")))
    }

    /// https://, or http:// to this machine (tests, a local ledger).
    fn secure_enough(url: &str) -> bool {
        let Some(rest) = url.strip_prefix("http://") else {
            return url.starts_with("https://");
        };
        let host = rest.split('/').next().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        matches!(host, "127.0.0.1" | "localhost" | "[::1]")
    }

    fn now_rfc3339() -> String {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        verifier::report::unix_to_rfc3339(secs)
    }
}

#[cfg(not(feature = "fetch"))]
mod fetch {
    use super::Fatal;

    pub(super) fn run(_url: &str, _out: Option<&str>) -> Result<(), Fatal> {
        Err(Fatal("this build has no network access (feature \"fetch\" is off)".into()))
    }
}

/// Reads at most `cap + 1` bytes of a file: one more than allowed, so that
/// the parser sees (and reports) a file too large without reading it all.
fn read_capped(path: &str, cap: usize) -> Result<Vec<u8>, Fatal> {
    let file = std::fs::File::open(path).map_err(|e| Fatal(format!("{path}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1).read_to_end(&mut bytes).map_err(|e| Fatal(format!("{path}: {e}")))?;
    Ok(bytes)
}

/// A UTF-8 text file of at most `cap` bytes.
fn read_text(path: &str, cap: usize) -> Result<String, Fatal> {
    let bytes = read_capped(path, cap)?;
    if bytes.len() > cap {
        return Err(Fatal(format!("{path}: larger than {cap} bytes")));
    }
    String::from_utf8(bytes).map_err(|_| Fatal(format!("{path}: not UTF-8")))
}

/// SHA-256 of a file, streamed.
fn hash_file(path: &str) -> Result<Hash, Fatal> {
    let mut file = std::fs::File::open(path).map_err(|e| Fatal(format!("{path}: {e}")))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Fatal(format!("{path}: {e}")))?;
    Ok(Hash(hasher.finalize().into()))
}
