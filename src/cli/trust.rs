//! `issuer` and `tsa`: the attestation issuers and RFC 3161 time-stamp
//! authorities the ledger trusts.

use std::path::PathBuf;

use anchor::AnchorConfig;
use base64::Engine as _;
use clap::Subcommand;

use crate::cmd::{look, open, read_ca, CliResult};

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
        #[arg(long)]
        data: PathBuf,
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
    /// List trusted TSAs.
    List {
        #[arg(long)]
        data: PathBuf,
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
    match cmd {
        TsaCommand::Add { data, name, root_cert, anchor_url, ca_cert } => {
            let ca_pem = read_ca(ca_cert.as_deref())?;
            let pem = std::fs::read_to_string(&root_cert)
                .map_err(|e| format!("{}: {e}", root_cert.display()))?;
            let l = open(&data)?;
            let r = l.add_tsa(&name, &pem).map_err(|e| e.to_string())?;
            println!("trusted TSA {} (added {})", r.name, r.added_at);
            if let Some(url) = anchor_url {
                let mut c = AnchorConfig::load(&l).map_err(|e| e.to_string())?;
                c.set_tsa_with_ca(&name, &url, ca_pem).map_err(|e| e.to_string())?;
                c.save(&l).map_err(|e| e.to_string())?;
                println!("anchored checkpoints will be timestamped by {name} at {url}");
            }
        }
        TsaCommand::List { data } => {
            let l = look(&data)?;
            let anchoring = AnchorConfig::load(&l).map_err(|e| e.to_string())?.tsa;
            for r in l.tsa_records().map_err(|e| e.to_string())? {
                let a = match &anchoring {
                    Some(t) if t.name == r.name => {
                        format!(" (timestamps checkpoints via {})", t.url)
                    }
                    _ => String::new(),
                };
                println!("{} added {}{a}", r.name, r.added_at);
            }
        }
    }
    Ok(())
}
