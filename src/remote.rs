//! Token commands against a running server's admin API: RocksDB admits one
//! writer, so while `serve` holds the data directory the CLI asks the
//! server instead of opening the store. The caller's own bearer token (a
//! `platform` token, or a tenant `admin` token for its own tenant) comes
//! from the environment variable [`TOKEN_ENV`], never from the command line
//! (which other users of the machine can read in the process list).

use serde_json::{json, Value};

use crate::cmd::CliResult;

/// The environment variable holding the caller's bearer token.
pub const TOKEN_ENV: &str = "EVIDENCE_LEDGER_TOKEN";

/// A token operation.
pub enum TokenOp {
    /// `POST /v1/tokens`.
    Issue {
        /// Tenant (absent for a platform token, or the admin's own).
        tenant: Option<String>,
        /// Role name.
        role: String,
        /// Lifetime, seconds.
        expires_in: Option<u64>,
    },
    /// `GET /v1/tokens`.
    List,
    /// `POST /v1/tokens/{id}/revoke`.
    Revoke {
        /// The token's public id.
        id: String,
    },
}

/// Runs `op` against the server at `url`; prints what the offline command prints.
pub fn token(url: &str, op: TokenOp) -> CliResult {
    let bearer = std::env::var(TOKEN_ENV)
        .map_err(|_| format!("--server needs a platform or admin token in ${TOKEN_ENV}"))?;
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let base = url.trim_end_matches('/');
    let request = match &op {
        TokenOp::Issue { tenant, role, expires_in } => {
            let mut body = json!({"role": role});
            if let Some(t) = tenant {
                body["tenant"] = json!(t);
            }
            if let Some(e) = expires_in {
                body["expires_in"] = json!(e);
            }
            client.post(format!("{base}/v1/tokens")).json(&body)
        }
        TokenOp::List => client.get(format!("{base}/v1/tokens")),
        TokenOp::Revoke { id } => {
            // A token id is 12 lowercase hex digits: anything else would be
            // put into the URL path (`../`, `?`), so it is refused here.
            if id.len() != 12
                || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(format!("--id {id:?}: a token id is 12 lowercase hex digits"));
            }
            client.post(format!("{base}/v1/tokens/{id}/revoke"))
        }
    };
    let resp = request.bearer_auth(bearer.trim()).send().map_err(|e| e.to_string())?;
    let status = resp.status();
    let body: Value = resp.json().map_err(|e| format!("{status}: {e}"))?;
    if !status.is_success() {
        let msg = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("");
        return Err(format!("{status}: {msg}"));
    }
    match op {
        TokenOp::Issue { .. } => println!("{}", str_of(&body, "token")),
        TokenOp::List => {
            for t in body["tokens"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let opt = |k: &str, label: &str| {
                    t[k].as_str().map(|v| format!(" {label} {v}")).unwrap_or_default()
                };
                println!(
                    "{} tenant={} role={} created {}{}{}",
                    str_of(t, "id"),
                    str_of(t, "tenant"),
                    str_of(t, "role"),
                    str_of(t, "created_at"),
                    opt("expires_at", "expires"),
                    opt("revoked_at", "revoked"),
                );
            }
        }
        TokenOp::Revoke { .. } => println!("revoked {}", str_of(&body, "id")),
    }
    Ok(())
}

/// `rotate-master-key --server URL`: begins a rotation on the running
/// server (or, with `status`, asks where it is) and prints the answer.
pub fn master_key(url: &str, to: Option<&str>, status: bool) -> CliResult {
    let bearer = std::env::var(TOKEN_ENV)
        .map_err(|_| format!("--server needs a platform token in ${TOKEN_ENV}"))?;
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let base = url.trim_end_matches('/');
    let request = if status {
        client.get(format!("{base}/v1/admin/master-key/status"))
    } else {
        let body = match to {
            Some(uri) => json!({"to": uri}),
            None => json!({}),
        };
        client.post(format!("{base}/v1/admin/master-key/rotate")).json(&body)
    };
    let resp = request.bearer_auth(bearer.trim()).send().map_err(|e| e.to_string())?;
    let code = resp.status();
    let body: Value = resp.json().map_err(|e| format!("{code}: {e}"))?;
    if !code.is_success() {
        let msg = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("");
        return Err(format!("{code}: {msg}"));
    }
    println!(
        "phase {} epoch {} retiring {} rewrapped {} scanned {}",
        str_of(&body, "phase"),
        body["current_epoch"],
        body["retiring_epochs"],
        body["rewrapped"],
        body["scanned"]
    );
    Ok(())
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}
