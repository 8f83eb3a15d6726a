//! `ers export` and `ers renew`: RFC 4998 evidence records
//! (docs/long-term.md).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use clap::Subcommand;
use verifier::ers::{decode_record, ErsHash};

use crate::cmd::{look, CliResult};
use crate::remote::TOKEN_ENV;

#[derive(Subcommand)]
pub(super) enum ErsCommand {
    /// Make an evidence record over a contract's bundle, through the
    /// running server (POST /v1/documents/{id}/evidence-record) with a
    /// legal or notary token in $EVIDENCE_LEDGER_TOKEN; write the DER
    /// record and the bundle it covers.
    Export {
        /// The server's base URL (e.g. http://127.0.0.1:8080).
        #[arg(long)]
        server: String,
        /// The contract (document_id).
        #[arg(long)]
        document: String,
        /// Where to write the DER EvidenceRecord.
        #[arg(long)]
        out: PathBuf,
        /// Where to write the bundle it covers (default: OUT.bundle.json).
        #[arg(long = "bundle-out")]
        bundle_out: Option<PathBuf>,
        /// Hash algorithm: sha256, sha512, sha3-512 or sm3.
        #[arg(long, default_value = "sha256")]
        hash: String,
    },
    /// Renew an evidence record with the data directory's TSA: with the
    /// newest chain's hash, a timestamp renewal (RFC 4998 §5.2); with
    /// another, a hash-tree renewal (§5.3), which needs the bundle.
    Renew {
        /// Data directory (its configured TSA and trusted roots; read-only,
        /// works beside a running server).
        #[arg(long)]
        data: PathBuf,
        /// The DER record to renew.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where to write the renewed record.
        #[arg(long)]
        out: PathBuf,
        /// sha256, sha512, sha3-512 or sm3 (default: the newest chain's).
        #[arg(long)]
        hash: Option<String>,
        /// The bundle the record covers (for a hash-tree renewal).
        #[arg(long)]
        bundle: Option<PathBuf>,
    },
}

pub(super) fn ers(cmd: ErsCommand) -> CliResult {
    match cmd {
        ErsCommand::Export { server, document, out, bundle_out, hash } => {
            let bundle_out = bundle_out.unwrap_or_else(|| {
                let mut p = out.clone().into_os_string();
                p.push(".bundle.json");
                PathBuf::from(p)
            });
            export(&server, &document, &out, &bundle_out, parse_hash(&hash)?)
        }
        ErsCommand::Renew { data, input, out, hash, bundle } => {
            let der = read(&input)?;
            let record = decode_record(&der).map_err(|e| format!("{}: {e}", input.display()))?;
            let newest = record
                .archive_time_stamp_sequence
                .last()
                .and_then(|c| c.last())
                .map(verifier::ers::build::ats_algorithm)
                .transpose()
                .map_err(|e| e.to_string())?
                .ok_or("the record has no timestamp")?;
            let alg = hash.as_deref().map(parse_hash).transpose()?.unwrap_or(newest);
            let bundle = bundle.as_deref().map(read).transpose()?;
            let tsa = crate::ers::tsa_client(&look(&data)?)?;
            let renewed = crate::ers::renew(&tsa, &der, alg, bundle.as_deref())?;
            write(&out, &renewed)?;
            let kind = if alg == newest { "timestamp renewal" } else { "hash-tree renewal" };
            println!("{kind} ({}) written to {}", alg.name(), out.display());
            Ok(())
        }
    }
}

fn parse_hash(name: &str) -> Result<ErsHash, String> {
    ErsHash::from_name(name)
        .ok_or_else(|| format!("--hash {name}: one of sha256, sha512, sha3-512, sm3"))
}

fn export(server: &str, document: &str, out: &Path, bundle_out: &Path, alg: ErsHash) -> CliResult {
    let ok_id = (1..=128).contains(&document.len())
        && document.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        && document != "."
        && document != "..";
    if !ok_id {
        return Err(format!("--document {document:?}: 1-128 of [A-Za-z0-9._:-]"));
    }
    let bearer = std::env::var(TOKEN_ENV)
        .map_err(|_| format!("ers export needs a legal or notary token in ${TOKEN_ENV}"))?;
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!(
        "{}/v1/documents/{document}/evidence-record?hash={}",
        server.trim_end_matches('/'),
        alg.name()
    );
    let resp = client.post(url).bearer_auth(bearer).send().map_err(|e| e.to_string())?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().map_err(|e| format!("{status}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{status}: {}", body["error"]["message"].as_str().unwrap_or("")));
    }
    let der = body["evidence_record"]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .ok_or("the answer has no evidence_record")?;
    let bundle = serde_json::to_vec_pretty(&body["bundle"]).map_err(|e| e.to_string())?;
    write(bundle_out, &bundle)?;
    write(out, &der)?;
    println!("evidence record written to {} (covers {})", out.display(), bundle_out.display());
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes whole or not at all: a temporary file beside it, synced, renamed.
fn write(path: &Path, bytes: &[u8]) -> CliResult {
    use std::io::Write as _;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// `serve`'s renewal schedule for the evidence records it keeps.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct ErsServeOptions {
    /// Renew a kept evidence record (timestamp renewal) once its newest
    /// token's TSA certificate ends within this many seconds (default 90 days).
    #[arg(long = "ers-renew-margin-secs", default_value_t = 90 * 86_400)]
    pub margin_secs: u64,
    /// How often the kept records are looked at, in seconds.
    #[arg(long = "ers-renew-interval-secs", default_value_t = 3600)]
    pub interval_secs: u64,
}
