//! `token`: issue, list and revoke bearer tokens, on a stopped server's
//! data directory or through a running server's admin API (`--server`,
//! [`crate::remote`]).

use std::path::PathBuf;

use clap::Subcommand;
use ledger::Role;

use crate::cmd::{look, open, CliResult};
use crate::remote::TokenOp;

/// Where a token command acts: on a stopped server's data directory, or
/// through a running server's admin API (`--server URL`, with a platform
/// or tenant-admin token in the environment variable
/// `EVIDENCE_LEDGER_TOKEN`).
#[derive(clap::Args)]
pub(super) struct TokenTarget {
    /// Data directory of a stopped server.
    #[arg(long, required_unless_present = "server")]
    data: Option<PathBuf>,
    /// Base URL of the running server (e.g. http://127.0.0.1:8080).
    #[arg(long, conflicts_with = "data")]
    server: Option<String>,
}

#[derive(Subcommand)]
pub(super) enum TokenCommand {
    /// Issue a token; prints the token alone.
    Issue {
        #[command(flatten)]
        target: TokenTarget,
        /// The tenant (omit for a platform token).
        #[arg(long)]
        tenant: Option<String>,
        /// submitter | legal | notary | admin | platform
        #[arg(long)]
        role: String,
        /// Lifetime in seconds. Offline: none means never expires; through
        /// the server: 90 days unless given.
        #[arg(long = "expires-in")]
        expires_in: Option<u64>,
    },
    /// List tokens (ids, tenants, roles; never the tokens).
    List {
        #[command(flatten)]
        target: TokenTarget,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        target: TokenTarget,
        #[arg(long)]
        id: String,
    },
}

pub(super) fn token(cmd: TokenCommand) -> CliResult {
    let target = match &cmd {
        TokenCommand::Issue { target, .. }
        | TokenCommand::List { target }
        | TokenCommand::Revoke { target, .. } => target,
    };
    if let Some(url) = target.server.clone() {
        return crate::remote::token(&url, cmd_remote(cmd));
    }
    let data = target.data.clone().ok_or("--data or --server is required")?;
    match cmd {
        TokenCommand::Issue { tenant, role, expires_in, .. } => {
            let role = Role::parse(&role).ok_or_else(|| {
                format!("unknown role {role:?}: submitter|legal|notary|admin|platform")
            })?;
            let tenant = match (role, tenant) {
                (Role::Platform, None) => ledger::PLATFORM_TENANT.to_string(),
                (_, Some(t)) => t,
                (_, None) => return Err("--tenant is required for this role".into()),
            };
            let l = open(&data)?;
            let (token, _) =
                crate::auth::issue(&l, &tenant, role, expires_in, ledger::OPERATOR_ACTOR)
                    .map_err(|e| e.to_string())?;
            println!("{token}");
            if role == Role::Platform && expires_in.is_none() {
                // Kept for the operator's bootstrap token (a console act,
                // server stopped); said aloud so it is not forgotten.
                eprintln!(
                    "note: this platform token never expires; issue its replacement with \
                     --expires-in and revoke it once deployed (docs/tenancy.md, Rotation)"
                );
            }
        }
        TokenCommand::List { .. } => {
            for (_, r) in look(&data)?.tokens().map_err(|e| e.to_string())? {
                println!("{}", token_line(&r));
            }
        }
        TokenCommand::Revoke { id, .. } => {
            let r = crate::auth::revoke(&open(&data)?, &id, ledger::OPERATOR_ACTOR)
                .map_err(|e| e.to_string())?;
            println!("revoked {}", r.id);
        }
    }
    Ok(())
}

/// A token command for the running server.
fn cmd_remote(cmd: TokenCommand) -> TokenOp {
    match cmd {
        TokenCommand::Issue { tenant, role, expires_in, .. } => {
            TokenOp::Issue { tenant, role, expires_in }
        }
        TokenCommand::List { .. } => TokenOp::List,
        TokenCommand::Revoke { id, .. } => TokenOp::Revoke { id },
    }
}

/// One line of `token list`.
pub fn token_line(r: &ledger::TokenRecord) -> String {
    let revoked = r.revoked_at.as_deref().map(|t| format!(" revoked {t}")).unwrap_or_default();
    let expires = r
        .expires_unix
        .map(|e| format!(" expires {}", verifier::report::unix_to_rfc3339(e.max(0) as u64)))
        .unwrap_or_default();
    format!(
        "{} tenant={} role={} created {}{expires}{revoked}",
        r.id,
        r.tenant,
        r.role.as_str(),
        r.created_at
    )
}
