//! `tenant`: tenant records (quota, lookup default, retention minimum)
//! through a running server's platform API (`--server URL`, the platform
//! token in `EVIDENCE_LEDGER_TOKEN`); the records and their rules are the
//! service's (`/v1/tenants`, docs/tenancy.md "Tenants as records").

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use crate::cmd::CliResult;
use crate::remote::call;

/// A quota as `EVENTS_PER_SEC:BYTES_PER_DAY:WRITES_PER_MIN` (0 turns one off).
fn quota(s: &str) -> Result<Value, String> {
    let parts: Vec<u64> = s
        .split(':')
        .map(|p| {
            p.parse()
                .map_err(|_| format!("--quota {s:?}: EVENTS_PER_SEC:BYTES_PER_DAY:WRITES_PER_MIN"))
        })
        .collect::<Result<_, _>>()?;
    match parts.as_slice() {
        [e, b, w] => Ok(json!({"events_per_sec": e, "bytes_per_day": b, "writes_per_min": w})),
        _ => Err(format!("--quota {s:?}: EVENTS_PER_SEC:BYTES_PER_DAY:WRITES_PER_MIN")),
    }
}

#[derive(Subcommand)]
pub(super) enum TenantCommand {
    /// Create a tenant's record; with --admin-token print its first admin token.
    Create {
        #[arg(long)]
        server: String,
        #[arg(long)]
        tenant: String,
        /// EVENTS_PER_SEC:BYTES_PER_DAY:WRITES_PER_MIN (default: the serve flags').
        #[arg(long)]
        quota: Option<String>,
        /// on | off: whether the public lookup finds its documents by default.
        #[arg(long)]
        lookup: Option<String>,
        /// Shortest retention policy its admin may set, days.
        #[arg(long = "retention-min-days")]
        retention_min_days: Option<u32>,
        /// Also mint the tenant's first admin token (printed alone on the last line).
        #[arg(long = "admin-token")]
        admin_token: bool,
    },
    /// Change a tenant's record.
    Set {
        #[arg(long)]
        server: String,
        #[arg(long)]
        tenant: String,
        /// EVENTS_PER_SEC:BYTES_PER_DAY:WRITES_PER_MIN, or `default` for the serve flags'.
        #[arg(long)]
        quota: Option<String>,
        /// on | off.
        #[arg(long)]
        lookup: Option<String>,
        /// Days, or `default` for the service's floor.
        #[arg(long = "retention-min-days")]
        retention_min_days: Option<String>,
    },
    /// List tenant records.
    List {
        #[arg(long)]
        server: String,
    },
}

fn lookup(v: &str) -> Result<bool, String> {
    match v {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("--lookup {v:?}: on or off")),
    }
}

fn line(r: &Value) -> String {
    let q = &r["quota"];
    let quota = if q.is_null() {
        "default".to_string()
    } else {
        format!("{}:{}:{}", q["events_per_sec"], q["bytes_per_day"], q["writes_per_min"])
    };
    let lookup = if r["lookup_default"] == json!(false) { "off" } else { "on" };
    let min = r["retention_min_days"].as_u64().map_or("default".into(), |d| d.to_string());
    format!(
        "{} quota={quota} lookup={lookup} retention_min_days={min} entry={}",
        r["tenant"].as_str().unwrap_or(""),
        r["entry"]
    )
}

pub(super) fn tenant(cmd: TenantCommand) -> CliResult {
    match cmd {
        TenantCommand::Create {
            server,
            tenant,
            quota: q,
            lookup: l,
            retention_min_days,
            admin_token,
        } => {
            let mut body = json!({"tenant": tenant, "admin_token": admin_token});
            if let Some(q) = q {
                body["quota"] = quota(&q)?;
            }
            if let Some(l) = l {
                body["lookup_default"] = json!(lookup(&l)?);
            }
            if let Some(d) = retention_min_days {
                body["retention_min_days"] = json!(d);
            }
            let r = call(&server, Method::POST, "/v1/tenants", Some(&body))?;
            println!("{}", line(&r));
            if let Some(t) = r.pointer("/admin_token/token").and_then(Value::as_str) {
                println!("{t}");
            }
        }
        TenantCommand::Set { server, tenant, quota: q, lookup: l, retention_min_days } => {
            let mut body = json!({});
            match q.as_deref() {
                Some("default") => body["quota"] = Value::Null,
                Some(q) => body["quota"] = quota(q)?,
                None => {}
            }
            if let Some(l) = l {
                body["lookup_default"] = json!(lookup(&l)?);
            }
            match retention_min_days.as_deref() {
                Some("default") => body["retention_min_days"] = Value::Null,
                Some(d) => {
                    let d: u32 = d.parse().map_err(|_| format!("--retention-min-days {d:?}"))?;
                    body["retention_min_days"] = json!(d);
                }
                None => {}
            }
            ledger::check_id("tenant", &tenant).map_err(|e| e.to_string())?;
            let r = call(&server, Method::PATCH, &format!("/v1/tenants/{tenant}"), Some(&body))?;
            println!("{}", line(&r));
        }
        TenantCommand::List { server } => {
            let r = call(&server, Method::GET, "/v1/tenants", None)?;
            for t in r["tenants"].as_array().map(Vec::as_slice).unwrap_or_default() {
                println!("{}", line(t));
            }
        }
    }
    Ok(())
}
