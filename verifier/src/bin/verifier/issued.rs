//! `verifier report REPORT --bundle BUNDLE [--policy FILE] [verify's key
//! options] [--json]`: checks an evidence report file the ledger issued
//! against the contract's bundle (`verifier::issued_report`), offline.

use verifier::bundle::{Bundle, VerifyOptions, MAX_BUNDLE_BYTES};
use verifier::issued_report::check_issued_report;
use verifier::report::{json_terminal_safe, terminal_safe};

use super::{build_policy, parse_verify_args, read_capped, Fatal};

/// Reports are rendered HTML or PDF of a few MiB at most.
const MAX_REPORT_BYTES: usize = 64 << 20;

/// Runs `report`: 0 when the log issued this file (its SHA-256 is in a
/// `report_issued` entry of a bundle that verifies), 1 when not, 2 on a
/// usage or file error.
pub(super) fn run(raw: &[String]) -> Result<u8, Fatal> {
    // REPORT and --bundle here; the rest are `verify`'s options.
    let (mut report_path, mut bundle_path, mut rest) = (None, None, Vec::new());
    let mut words = raw.iter();
    while let Some(w) = words.next() {
        match w.split_once('=') {
            Some(("--bundle", v)) if bundle_path.is_none() => bundle_path = Some(v.to_owned()),
            _ if w == "--bundle" && bundle_path.is_none() => {
                bundle_path = Some(
                    words.next().cloned().ok_or_else(|| Fatal("--bundle needs a value".into()))?,
                )
            }
            _ if !w.starts_with('-') && report_path.is_none() && !takes_value(rest.last()) => {
                report_path = Some(w.clone())
            }
            _ => rest.push(w.clone()),
        }
    }
    let report_path = report_path.ok_or_else(|| Fatal("missing REPORT".into()))?;
    let bundle_path = bundle_path.ok_or_else(|| Fatal("missing --bundle".into()))?;
    rest.insert(0, bundle_path.clone());
    let args = parse_verify_args(&rest)?;
    let (policy, source) = build_policy(&args)?;
    let bundle_bytes = read_capped(&bundle_path, MAX_BUNDLE_BYTES)?;
    let bundle = Bundle::parse(&bundle_bytes).map_err(|e| Fatal(format!("{bundle_path}: {e}")))?;
    let report = read_capped(&report_path, MAX_REPORT_BYTES)?;
    let options = VerifyOptions::with_policy(policy, source);
    let check = check_issued_report(&bundle, &report, &options);
    let text = if args.json {
        let v = serde_json::json!({
            "verified": check.verified(),
            "report_sha256": check.report_sha256,
            "entry": check.entry.as_ref().map(|(i, f, t)| serde_json::json!(
                {"index": i, "format": f, "ledger_time": t})),
            "bundle": check.bundle,
        });
        json_terminal_safe(&serde_json::to_string_pretty(&v).unwrap_or_default()) + "\n"
    } else {
        check.lines().iter().map(|l| terminal_safe(l)).collect::<Vec<_>>().join("\n") + "\n"
    };
    // A closed stdout (e.g. `| head`) must not turn a verdict into a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    Ok(if check.verified() { 0 } else { 1 })
}

/// Whether the word before is an option of `verify` that takes the next
/// word as its value (so that word is no REPORT path).
fn takes_value(prev: Option<&String>) -> bool {
    prev.is_some_and(|p| {
        !p.contains('=')
            && matches!(
                p.as_str(),
                "--policy"
                    | "--document"
                    | "--log-key"
                    | "--witness"
                    | "--witness-threshold"
                    | "--tsa-root"
                    | "--issuer"
                    | "--suite"
            )
    })
}
