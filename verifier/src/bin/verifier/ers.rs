//! `verifier ers RECORD --bundle BUNDLE [--document FILE] --policy FILE`:
//! checks an RFC 4998 evidence record over the bundle it covers, offline,
//! against the TSA roots of the policy (docs/long-term.md).

use verifier::bundle::{verify_bundle_bytes, VerifyOptions, MAX_BUNDLE_BYTES};
use verifier::check::check_id;
use verifier::ers::{bundle_data_objects, verify_evidence_record, ErsCoverage, MAX_RECORD_SIZE};
use verifier::report::{json_terminal_safe, terminal_safe};

use super::{hash_file, now_unix, read_capped, read_text, Args, Fatal};
use verifier::policy::{TrustPolicy, MAX_POLICY_BYTES, MAX_ROOT_PEM_BYTES};

/// Parsed `ers` command line.
#[derive(Default)]
struct ErsArgs {
    record: Option<String>,
    bundle: Option<String>,
    document: Option<String>,
    policy_file: Option<String>,
    tsa_roots: Vec<String>,
    json: bool,
}

fn parse(raw: &[String]) -> Result<ErsArgs, Fatal> {
    let mut args = ErsArgs::default();
    let mut a = Args(raw.iter());
    while let Some((flag, inline, arg)) = a.next() {
        let mut value = || a.value(flag, inline.clone());
        match flag {
            "--json" if inline.is_none() => args.json = true,
            "--bundle" if args.bundle.is_none() => args.bundle = Some(value()?),
            "--document" if args.document.is_none() => args.document = Some(value()?),
            "--policy" if args.policy_file.is_none() => args.policy_file = Some(value()?),
            "--tsa-root" => args.tsa_roots.push(value()?),
            f if f.starts_with('-') && f.len() > 1 => {
                return Err(Fatal(format!("unknown or repeated option {f}")))
            }
            _ if args.record.is_none() => args.record = Some(arg.clone()),
            _ => return Err(Fatal(format!("unexpected argument {arg:?}"))),
        }
    }
    Ok(args)
}

/// The policy file plus `--tsa-root`.
fn policy(args: &ErsArgs) -> Result<TrustPolicy, Fatal> {
    let mut policy = match &args.policy_file {
        Some(path) => {
            let text = read_text(path, MAX_POLICY_BYTES)?;
            TrustPolicy::parse(&text).map_err(|e| Fatal(format!("{path}: {e}")))?
        }
        None => TrustPolicy::default(),
    };
    for spec in &args.tsa_roots {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| Fatal(format!("--tsa-root {spec:?}: expected NAME=FILE.pem")))?;
        let pem = read_text(file, MAX_ROOT_PEM_BYTES)?;
        policy.add_tsa(name, &pem).map_err(|e| Fatal(format!("--tsa-root: {e}")))?;
    }
    Ok(policy)
}

/// Runs `ers`: 0 when the record verifies (and the document, if given, is
/// the bundle's), 1 when not, 2 on a usage or file error.
pub(super) fn run(raw: &[String]) -> Result<u8, Fatal> {
    let args = parse(raw)?;
    let record_path = args.record.clone().ok_or_else(|| Fatal("missing RECORD".into()))?;
    let bundle_path = args.bundle.clone().ok_or_else(|| Fatal("missing --bundle".into()))?;
    let policy = policy(&args)?;
    let record = read_capped(&record_path, MAX_RECORD_SIZE)?;
    let bundle = read_capped(&bundle_path, MAX_BUNDLE_BYTES)?;
    let mut lines = Vec::new();
    let mut passed = true;
    let outcome = bundle_data_objects(&bundle).and_then(|objects| {
        verify_evidence_record(&record, &objects, &policy.tsa_roots(), now_unix())
    });
    if let Some(path) = &args.document {
        let mut options = VerifyOptions::with_policy(policy.clone(), "your policy");
        options.document_hash = Some(hash_file(path)?);
        let report = verify_bundle_bytes(&bundle, &options);
        let check = report.checks.iter().find(|c| c.id == check_id::DOCUMENT_HASH);
        let ok = check.is_some_and(|c| c.passed);
        passed &= ok;
        let detail = check.map_or("the bundle does not parse".to_owned(), |c| c.detail.clone());
        lines.push(format!("[{}] document: {detail}", if ok { "ok" } else { "FAILED" }));
    }
    let json = match &outcome {
        Ok(coverage) => {
            lines.splice(0..0, coverage_lines(coverage));
            coverage_json(coverage)
        }
        Err(e) => {
            passed = false;
            lines.insert(0, format!("[FAILED] evidence record: {e}"));
            serde_json::json!({"error": e.to_string()})
        }
    };
    let verdict = match (&outcome, passed) {
        (Ok(c), true) => format!("VERIFIED: {}", c.summary()),
        _ => "NOT VERIFIED".to_owned(),
    };
    let text = if args.json {
        let mut v = json;
        v["verified"] = serde_json::json!(passed);
        v["checks"] = serde_json::json!(lines);
        json_terminal_safe(&serde_json::to_string_pretty(&v).unwrap_or_default()) + "\n"
    } else {
        lines.push(verdict);
        let safe: Vec<String> = lines.iter().map(|l| terminal_safe(l)).collect();
        safe.join("\n") + "\n"
    };
    // A closed stdout (e.g. `| head`) must not turn a verdict into a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    Ok(if passed { 0 } else { 1 })
}

fn coverage_lines(c: &ErsCoverage) -> Vec<String> {
    let mut chain = usize::MAX;
    c.timestamps
        .iter()
        .map(|t| {
            let kind = match (t.chain, t.chain == chain) {
                (_, true) => "timestamp renewal",
                (0, false) => "first timestamp",
                (_, false) => "hash-tree renewal",
            };
            chain = t.chain;
            format!(
                "[ok] chain {} ({}): {kind} at {} by {} (serial {}), TSA certificate valid to {}",
                t.chain,
                t.alg.name(),
                t.info.gen_time,
                t.info.tsa,
                t.info.serial,
                time::OffsetDateTime::from_unix_timestamp(t.renew_before_unix)
                    .ok()
                    .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
                    .unwrap_or_else(|| t.renew_before_unix.to_string())
            )
        })
        .collect()
}

fn coverage_json(c: &ErsCoverage) -> serde_json::Value {
    serde_json::json!({
        "from": c.from,
        "until": c.until,
        "algorithms": c.algorithms.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "timestamps": c.timestamps.iter().map(|t| serde_json::json!({
            "chain": t.chain,
            "hash": t.alg.name(),
            "gen_time": t.info.gen_time,
            "tsa": t.info.tsa,
            "serial": t.info.serial,
            "renew_before_unix": t.renew_before_unix,
        })).collect::<Vec<_>>(),
    })
}
