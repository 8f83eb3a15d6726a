//! `verifier verify BUNDLE [--document FILE] [--log-key VKEY] [--witness VKEY ...] [--json]`
//!
//! Checks an evidence bundle offline (no network) and prints each check and
//! the rebuilt evidence chain. Exit status: 0 when every check passes, 1 when
//! one fails, 2 on a usage or file error.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use sha2::{Digest as _, Sha256};
use verifier::bundle::{verify_bundle_bytes, VerifyOptions, MAX_BUNDLE_BYTES};
use verifier::cosignature::ALG_COSIGNATURE_V1;
use verifier::note::{NoteVerifier, ALG_ED25519};
use verifier::Hash;

const USAGE: &str = "\
usage: verifier verify BUNDLE [--document FILE] [--log-key VKEY] [--witness VKEY ...] [--json]

Checks an evidence bundle offline and reports each check.
  BUNDLE            the evidence bundle (JSON) to check
  --document FILE   the document you hold; its SHA-256 must match the evidence
  --log-key VKEY    the log's verifier key as you know it (pins the log)
  --witness VKEY    a witness key (cosignature/v1) that must have countersigned;
                    repeat for several witnesses
  --json            print the report as JSON

Exit status: 0 every check passed, 1 a check failed, 2 usage or file error.";

/// Parsed command line.
struct Args {
    bundle: String,
    document: Option<String>,
    log_key: Option<String>,
    witnesses: Vec<String>,
    json: bool,
}

/// A usage or file error: message for stderr, exit status 2.
struct Fatal(String);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Fatal(msg)) => {
            let _ = writeln!(std::io::stderr(), "verifier: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command; `Ok(passed)` once a report is printed.
fn run() -> Result<bool, Fatal> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "-h" || a == "--help") {
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        std::process::exit(0);
    }
    let args = parse_args(&raw)?;
    let bundle = read_capped(&args.bundle)?;
    let mut options = VerifyOptions {
        document_hash: None,
        log_key: args.log_key,
        witnesses: args.witnesses,
        now_unix: None,
    };
    if let Some(path) = &args.document {
        options.document_hash = Some(hash_file(path)?);
    }
    let report = verify_bundle_bytes(&bundle, &options);
    let out = if args.json {
        serde_json::to_string_pretty(&report).map_err(|e| Fatal(e.to_string()))? + "\n"
    } else {
        report.to_text()
    };
    // A closed stdout (e.g. `| head`) must not turn a verdict into a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(report.all_passed())
}

fn parse_args(raw: &[String]) -> Result<Args, Fatal> {
    let mut it = raw.iter();
    match it.next().map(String::as_str) {
        Some("verify") => {}
        Some(other) => return Err(Fatal(format!("unknown command {other:?}"))),
        None => return Err(Fatal("missing command".into())),
    }
    let mut bundle = None;
    let mut args = Args {
        bundle: String::new(),
        document: None,
        log_key: None,
        witnesses: Vec::new(),
        json: false,
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| Fatal(format!("{flag} needs a value")))
        };
        match flag {
            "--json" if inline.is_none() => args.json = true,
            "--document" if args.document.is_none() => args.document = Some(value()?),
            "--log-key" if args.log_key.is_none() => {
                args.log_key = Some(key_arg(value()?, ALG_ED25519)?)
            }
            "--witness" => args.witnesses.push(key_arg(value()?, ALG_COSIGNATURE_V1)?),
            f if f.starts_with('-') && f.len() > 1 => {
                return Err(Fatal(format!("unknown or repeated option {f}")))
            }
            _ if bundle.is_none() => bundle = Some(arg.clone()),
            _ => return Err(Fatal(format!("unexpected argument {arg:?}"))),
        }
    }
    args.bundle = bundle.ok_or_else(|| Fatal("missing BUNDLE".into()))?;
    Ok(args)
}

/// Checks a vkey given on the command line is valid and of type `alg`.
fn key_arg(vkey: String, alg: u8) -> Result<String, Fatal> {
    let key = NoteVerifier::from_vkey(&vkey).map_err(|e| Fatal(format!("key {vkey:?}: {e}")))?;
    if key.alg != alg {
        let want = if alg == ALG_ED25519 {
            "an Ed25519 log key (type 0x01)"
        } else {
            "a cosignature/v1 witness key (type 0x04)"
        };
        return Err(Fatal(format!("key {vkey:?} is not {want}")));
    }
    Ok(vkey)
}

/// Reads a file, refusing more than [`MAX_BUNDLE_BYTES`] before it is all in memory.
fn read_capped(path: &str) -> Result<Vec<u8>, Fatal> {
    let file = std::fs::File::open(path).map_err(|e| Fatal(format!("{path}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Fatal(format!("{path}: {e}")))?;
    Ok(bytes)
}

/// SHA-256 of a file, streamed.
fn hash_file(path: &str) -> Result<Hash, Fatal> {
    let mut file = std::fs::File::open(path).map_err(|e| Fatal(format!("{path}: {e}")))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Fatal(format!("{path}: {e}")))?;
    Ok(Hash(hasher.finalize().into()))
}
