//! `issuer` and `tsa`: the attestation issuers and RFC 3161 time-stamp
//! authorities the ledger trusts.

use std::path::PathBuf;

use anchor::AnchorConfig;
use base64::Engine as _;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::anchoring::Target;
use crate::cmd::{look, open, read_ca, CliResult};
use crate::remote::{call, path_segment};

#[derive(Subcommand)]
pub(super) enum IssuerCommand {
    /// Trust an issuer's Ed25519 key.
    Add {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        name: String,
        /// Base64 of the 32-byte Ed25519 public key.
        #[arg(long = "public-key")]
        public_key: String,
        /// A tenant's signer key (name `signer:<id>`) instead of a platform-wide issuer.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List issuers, revoked ones included.
    List {
        #[arg(long)]
        data: PathBuf,
    },
    /// Stop trusting an issuer for new events.
    Revoke {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        name: String,
        /// The tenant whose signer key it is (omit for a platform-wide issuer).
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum TsaCommand {
    /// Trust a TSA's root certificate: event tokens must chain to it.
    Add {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        name: String,
        /// PEM file of the root (or the TSA's own) certificate.
        #[arg(long = "root-cert")]
        root_cert: PathBuf,
        /// Also timestamp anchored checkpoints with this TSA (its RFC 3161 HTTP URL).
        #[arg(long = "anchor-url")]
        anchor_url: Option<String>,
        /// PEM CA certificate(s) to trust for an https --anchor-url (private CA).
        #[arg(long = "ca-cert", requires = "anchor_url")]
        ca_cert: Option<PathBuf>,
    },
    /// List trusted TSAs (retired ones too).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Retire a TSA: it timestamps no more checkpoints and its tokens are
    /// refused on new events; what it stamped before stays evidence.
    Retire {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        name: String,
    },
}

pub(super) fn issuer(cmd: IssuerCommand) -> CliResult {
    match cmd {
        IssuerCommand::Add { data, name, public_key, tenant } => {
            let key = base64::engine::general_purpose::STANDARD
                .decode(public_key.trim())
                .map_err(|_| "public key: not base64".to_string())?;
            let r = open(&data)?
                .add_issuer_scoped(tenant.as_deref(), &name, &key, ledger::OPERATOR_ACTOR)
                .map_err(|e| e.to_string())?;
            let scope = r.tenant.as_deref().map(|t| format!(" for tenant {t}")).unwrap_or_default();
            println!("trusted issuer {}{scope} key {}", r.name, r.public_key);
        }
        IssuerCommand::List { data } => {
            for r in look(&data)?.issuers().map_err(|e| e.to_string())? {
                let revoked =
                    r.revoked_at.as_deref().map(|t| format!(" revoked {t}")).unwrap_or_default();
                let scope = r.tenant.as_deref().map(|t| format!(" tenant={t}")).unwrap_or_default();
                println!("{}{scope} {} added {}{revoked}", r.name, r.public_key, r.added_at);
            }
        }
        IssuerCommand::Revoke { data, name, tenant } => {
            let r = open(&data)?
                .revoke_issuer_scoped(tenant.as_deref(), &name, ledger::OPERATOR_ACTOR)
                .map_err(|e| e.to_string())?;
            println!("revoked issuer {}", r.name);
        }
    }
    Ok(())
}

pub(super) fn tsa(cmd: TsaCommand) -> CliResult {
    let e = |e: anchor::AnchorError| e.to_string();
    match cmd {
        TsaCommand::Add { target, name, root_cert, anchor_url, ca_cert } => {
            let ca_pem = read_ca(ca_cert.as_deref())?;
            let pem = std::fs::read_to_string(&root_cert)
                .map_err(|e| format!("{}: {e}", root_cert.display()))?;
            let added = match target.server() {
                Some(s) => {
                    let body = json!({"name": name, "root_pem": pem, "anchor_url": anchor_url,
                                      "ca_pem": ca_pem});
                    let t = call(s, Method::POST, "/v1/tsas", Some(&body))?;
                    t["added_at"].as_str().unwrap_or_default().to_string()
                }
                None => {
                    let l = open(target.data()?)?;
                    let by = ledger::OPERATOR_ACTOR;
                    anchor::manage::add_tsa(&l, &name, &pem, anchor_url.as_deref(), ca_pem, by)
                        .map_err(e)?
                        .0
                        .added_at
                }
            };
            println!("trusted TSA {name} (added {added})");
            if let Some(url) = anchor_url {
                println!("anchored checkpoints will be timestamped by {name} at {url}");
            }
        }
        TsaCommand::List { target } => {
            let list: Vec<Value> = match target.server() {
                Some(s) => call(s, Method::GET, "/v1/tsas", None)?["tsas"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                None => {
                    let l = look(target.data()?)?;
                    let anchoring = AnchorConfig::load(&l).map_err(e)?.tsa;
                    (l.tsa_records().map_err(|e| e.to_string())?.iter())
                        .map(|r| {
                            let url = anchoring.as_ref().filter(|t| t.name == r.name);
                            json!({"name": r.name, "added_at": r.added_at,
                                   "retired_at": r.retired_at,
                                   "anchor_url": url.map(|t| t.url.clone())})
                        })
                        .collect()
                }
            };
            for r in &list {
                let opt =
                    |k: &str, f: &dyn Fn(&str) -> String| r[k].as_str().map(f).unwrap_or_default();
                println!(
                    "{} added {}{}{}",
                    r["name"].as_str().unwrap_or(""),
                    r["added_at"].as_str().unwrap_or(""),
                    opt("retired_at", &|t| format!(" retired {t}")),
                    opt("anchor_url", &|u| format!(" (timestamps checkpoints via {u})")),
                );
            }
        }
        TsaCommand::Retire { target, name } => {
            match target.server() {
                Some(s) => {
                    let path = format!("/v1/tsas/{}", path_segment(&name));
                    call(s, Method::DELETE, &path, None)?;
                }
                None => {
                    let l = open(target.data()?)?;
                    anchor::manage::retire_tsa(&l, &name, ledger::OPERATOR_ACTOR).map_err(e)?;
                }
            }
            println!("retired TSA {name}");
        }
    }
    Ok(())
}
