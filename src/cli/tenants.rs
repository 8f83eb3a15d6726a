//! `tenant`: tenant records (quota, lookup default, retention minimum)
//! on a stopped server's data directory (`--data`), or through a running
//! server's platform API (`--server URL`, the platform token in
//! `EVIDENCE_LEDGER_TOKEN`). Both build the same request body; offline it
//! goes to the same code the routes run ([`crate::api::tenants`]), so the
//! records, their checks and the logged `registry_changed` entry are the
//! service's (`/v1/tenants`, docs/tenancy.md "Tenants as records").

use std::path::Path;

use clap::Subcommand;
use ledger::{Ledger, Role};
use reqwest::Method;
use serde_json::{json, Value};

use super::anchoring::Target;
use crate::api::erase::MIN_RETENTION_DAYS;
use crate::api::tenant_records::{TenantRecord, Tenants};
use crate::api::tenants::{create_record, patch_record, record_json, NewTenant, TenantPatch};
use crate::cmd::{look, open, CliResult};
use crate::error::ApiError;
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
        #[command(flatten)]
        target: Target,
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
        #[command(flatten)]
        target: Target,
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
        #[command(flatten)]
        target: Target,
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
            target,
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
            let r = match target.server() {
                Some(server) => call(server, Method::POST, "/v1/tenants", Some(&body))?,
                None => create_offline(target.data()?, body)?,
            };
            println!("{}", line(&r));
            if let Some(t) = r.pointer("/admin_token/token").and_then(Value::as_str) {
                println!("{t}");
            }
        }
        TenantCommand::Set { target, tenant, quota: q, lookup: l, retention_min_days } => {
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
            let r = match target.server() {
                Some(server) => {
                    let path = format!("/v1/tenants/{tenant}");
                    call(server, Method::PATCH, &path, Some(&body))?
                }
                None => set_offline(target.data()?, &tenant, body)?,
            };
            println!("{}", line(&r));
        }
        TenantCommand::List { target } => {
            let list = match target.server() {
                Some(server) => call(server, Method::GET, "/v1/tenants", None)?["tenants"].clone(),
                None => {
                    let l = look(target.data()?)?;
                    let tenants = Tenants::load(&l).map_err(say)?;
                    Value::Array(tenants.list().iter().map(record_json).collect())
                }
            };
            for t in list.as_array().map(Vec::as_slice).unwrap_or_default() {
                println!("{}", line(t));
            }
        }
    }
    Ok(())
}

/// An error as the API would answer it: its message and code.
fn say(e: ApiError) -> String {
    format!("{} ({})", e.message, e.code)
}

/// The service's retention floor as `serve` has it by default: offline,
/// no `serve --retention-min-days` is known (a server started with a
/// higher floor still applies its own).
const OFFLINE_FLOOR: u32 = MIN_RETENTION_DAYS;

/// Writes a change on a stopped server's store (refused while a server
/// holds it) through `write`, the routes' own code, by the operator.
fn write_offline(
    data: &Path,
    write: impl FnOnce(&Ledger, &Tenants) -> Result<TenantRecord, ApiError>,
) -> Result<(Ledger, TenantRecord), String> {
    let l = open(data)?;
    let tenants = Tenants::load(&l).map_err(say)?;
    let rec = write(&l, &tenants).map_err(say)?;
    Ok((l, rec))
}

/// `tenant create --data`: the body `POST /v1/tenants` takes.
fn create_offline(data: &Path, body: Value) -> Result<Value, String> {
    let new: NewTenant = serde_json::from_value(body).map_err(|e| e.to_string())?;
    let (l, rec) = write_offline(data, |l, t| {
        create_record(l, t, OFFLINE_FLOOR, ledger::OPERATOR_ACTOR, &new)
    })?;
    let mut out = record_json(&rec);
    if new.admin_token {
        // As over the API: 90 days unless given.
        let life = new.expires_in.unwrap_or(crate::auth::DEFAULT_TOKEN_LIFETIME_SECS);
        let (token, t) =
            crate::auth::issue(&l, &rec.tenant, Role::Admin, Some(life), ledger::OPERATOR_ACTOR)
                .map_err(|e| e.to_string())?;
        out["admin_token"] = json!({"token": token, "id": t.id, "expires_unix": t.expires_unix});
    }
    Ok(out)
}

/// `tenant set --data`: the body `PATCH /v1/tenants/{tenant}` takes.
fn set_offline(data: &Path, tenant: &str, body: Value) -> Result<Value, String> {
    let p: TenantPatch = serde_json::from_value(body).map_err(|e| e.to_string())?;
    let (_, rec) = write_offline(data, |l, t| {
        patch_record(l, t, OFFLINE_FLOOR, ledger::OPERATOR_ACTOR, tenant, p)
    })?;
    Ok(record_json(&rec))
}
