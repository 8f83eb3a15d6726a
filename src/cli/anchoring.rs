//! `witness` and `anchor`: the witnesses (notary offices, courts) that
//! cosign checkpoints, the anchoring schedule and quorum, and progress.
//! Changes go through `anchor::manage` (logged as `registry_changed`
//! entries, like the service's `/v1/witnesses` and `/v1/anchoring`), on a
//! stopped server's data directory (`--data`) or through a running
//! server's admin API (`--server`, a platform token in
//! `EVIDENCE_LEDGER_TOKEN`).

use std::path::PathBuf;

use anchor::{AnchorConfig, Policy, Quorum};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use crate::cmd::{look, open, read_ca, CliResult};
use crate::remote::{call, path_segment};

/// Where a change acts: a stopped server's data directory, or a running
/// server's admin API.
#[derive(clap::Args)]
pub(super) struct Target {
    /// Data directory of a stopped server.
    #[arg(long, required_unless_present = "server")]
    data: Option<PathBuf>,
    /// Base URL of the running server (e.g. http://127.0.0.1:8080); the
    /// platform token in EVIDENCE_LEDGER_TOKEN.
    #[arg(long, conflicts_with = "data")]
    server: Option<String>,
}

impl Target {
    /// The data directory, when not `--server`.
    pub(super) fn data(&self) -> Result<&PathBuf, String> {
        self.data.as_ref().ok_or_else(|| "--data or --server is required".to_string())
    }

    /// The server's URL, if `--server`.
    pub(super) fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }
}

#[derive(Subcommand)]
pub(super) enum WitnessCommand {
    /// Add a witness by its cosignature/v1 vkey and its tlog-witness URL.
    Add {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        vkey: String,
        /// Base URL; the ledger POSTs to <url>/add-checkpoint.
        #[arg(long)]
        url: String,
        /// PEM CA certificate(s) to trust for an https URL (a private CA).
        #[arg(long = "ca-cert")]
        ca_cert: Option<PathBuf>,
    },
    /// Change a witness's URL (and the CA trusted for it).
    Change {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        name: String,
        #[arg(long)]
        url: Option<String>,
        #[arg(long = "ca-cert")]
        ca_cert: Option<PathBuf>,
    },
    /// Ask a witness again after it reported a fork or rollback (read the
    /// evidence under DATA/anchor-alarms/ first).
    ClearAlarm {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// List witnesses and the quorum.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Retire a witness (its past cosignatures are kept).
    Remove {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub(super) enum AnchorCommand {
    /// Set when to anchor and which cosignatures make a checkpoint anchored.
    Policy {
        #[command(flatten)]
        target: Target,
        /// Anchor at least every SECS seconds while the log grows.
        #[arg(long)]
        interval: Option<u64>,
        /// Also anchor after N new entries (0: off).
        #[arg(long)]
        every: Option<u64>,
        /// A witness that must cosign (repeat for several); replaces the list.
        #[arg(long)]
        require: Vec<String>,
        /// Least number of witnesses that must cosign (0: all).
        #[arg(long)]
        threshold: Option<usize>,
    },
    /// Print the anchoring configuration and each witness's progress.
    Status {
        #[arg(long)]
        data: PathBuf,
    },
}

fn e(e: anchor::AnchorError) -> String {
    e.to_string()
}

pub(super) fn witness(cmd: WitnessCommand) -> CliResult {
    match cmd {
        WitnessCommand::Add { target, vkey, url, ca_cert } => {
            let ca_pem = read_ca(ca_cert.as_deref())?;
            let name = match target.server() {
                Some(s) => {
                    let body = json!({"vkey": vkey, "url": url, "ca_pem": ca_pem});
                    let w = call(s, Method::POST, "/v1/witnesses", Some(&body))?;
                    w["name"].as_str().unwrap_or_default().to_string()
                }
                None => {
                    let l = open(target.data()?)?;
                    let by = ledger::OPERATOR_ACTOR;
                    anchor::manage::add_witness(&l, &vkey, &url, ca_pem, by).map_err(e)?.name
                }
            };
            println!("added witness {name} at {url}");
        }
        WitnessCommand::Change { target, name, url, ca_cert } => {
            let ca_pem = read_ca(ca_cert.as_deref())?;
            if url.is_none() && ca_pem.is_none() {
                return Err("nothing to change: --url or --ca-cert".into());
            }
            let url = match target.server() {
                Some(s) => {
                    let mut body = json!({"url": url});
                    if let Some(ca) = ca_pem {
                        body["ca_pem"] = json!(ca);
                    }
                    let path = format!("/v1/witnesses/{}", path_segment(&name));
                    let w = call(s, Method::PATCH, &path, Some(&body))?;
                    w["url"].as_str().unwrap_or_default().to_string()
                }
                None => {
                    let l = open(target.data()?)?;
                    let ca = ca_pem.map(Some);
                    let by = ledger::OPERATOR_ACTOR;
                    anchor::manage::change_witness(&l, &name, url.as_deref(), ca, by)
                        .map_err(e)?
                        .url
                }
            };
            println!("witness {name} at {url}");
        }
        WitnessCommand::List { target } => match target.server() {
            Some(s) => {
                let w = call(s, Method::GET, "/v1/witnesses", None)?;
                for p in w["witnesses"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    println!("{} {} {}", str_of(p, "name"), str_of(p, "url"), str_of(p, "vkey"));
                }
                let a = call(s, Method::GET, "/v1/anchoring", None)?;
                print_policy(&policy_of(&a));
            }
            None => {
                let c = AnchorConfig::load(&look(target.data()?)?).map_err(e)?;
                for p in &c.partners {
                    println!("{} {} {}", p.name, p.url, p.vkey);
                }
                print_policy(&c);
            }
        },
        WitnessCommand::ClearAlarm { data, name } => {
            match anchor::store::clear_alarm(&open(&data)?, &name).map_err(e)? {
                Some(a) => {
                    println!("cleared {} alarm of {name} (evidence: {:?})", a.kind, a.evidence)
                }
                None => println!("{name} had no alarm"),
            }
        }
        WitnessCommand::Remove { target, name } => {
            match target.server() {
                Some(s) => {
                    let path = format!("/v1/witnesses/{}", path_segment(&name));
                    call(s, Method::DELETE, &path, None)?;
                }
                None => {
                    let l = open(target.data()?)?;
                    anchor::manage::retire_witness(&l, &name, ledger::OPERATOR_ACTOR).map_err(e)?;
                }
            }
            println!("removed witness {name}");
        }
    }
    Ok(())
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// The configuration `GET /v1/anchoring` describes (policy and witnesses).
fn policy_of(a: &Value) -> AnchorConfig {
    let mut c = AnchorConfig::default();
    c.policy.interval_secs = a["interval_secs"].as_u64().unwrap_or(c.policy.interval_secs);
    c.policy.every_entries = a["every_entries"].as_u64().unwrap_or(0);
    c.policy.quorum.threshold = a["threshold"].as_u64().unwrap_or(0) as usize;
    c.policy.quorum.required = (a["required"].as_array().map(Vec::as_slice).unwrap_or_default())
        .iter()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    for w in a["witnesses"].as_array().map(Vec::as_slice).unwrap_or_default() {
        c.partners.push(anchor::PartnerConfig {
            name: str_of(w, "name").into(),
            vkey: str_of(w, "vkey").into(),
            url: str_of(w, "url").into(),
            ca_pem: None,
        });
    }
    c
}

/// The policy with the options given applied.
fn merged(
    mut p: Policy,
    interval: Option<u64>,
    every: Option<u64>,
    require: Vec<String>,
    threshold: Option<usize>,
) -> Policy {
    if let Some(i) = interval {
        p.interval_secs = i.max(1);
    }
    if let Some(n) = every {
        p.every_entries = n;
    }
    if !require.is_empty() {
        p.quorum.required = require;
    }
    if let Some(t) = threshold {
        p.quorum = Quorum { threshold: t, ..p.quorum };
    }
    p
}

pub(super) fn anchor_cmd(cmd: AnchorCommand) -> CliResult {
    match cmd {
        AnchorCommand::Policy { target, interval, every, require, threshold } => {
            let c = match target.server() {
                Some(s) => {
                    let current = policy_of(&call(s, Method::GET, "/v1/anchoring", None)?);
                    let p = merged(current.policy, interval, every, require, threshold);
                    let body = json!({"interval_secs": p.interval_secs,
                        "every_entries": p.every_entries,
                        "required": p.quorum.required, "threshold": p.quorum.threshold});
                    policy_of(&call(s, Method::PUT, "/v1/anchoring", Some(&body))?)
                }
                None => {
                    let l = open(target.data()?)?;
                    let current = AnchorConfig::load(&l).map_err(e)?;
                    let p = merged(current.policy, interval, every, require, threshold);
                    anchor::manage::set_policy(&l, p, ledger::OPERATOR_ACTOR).map_err(e)?
                }
            };
            print_policy(&c);
        }
        AnchorCommand::Status { data } => status(&data)?,
    }
    Ok(())
}

fn status(data: &std::path::Path) -> CliResult {
    let l = look(data)?;
    let c = AnchorConfig::load(&l).map_err(e)?;
    print_policy(&c);
    let latest = anchor::store::latest_anchored_size(&l).map_err(e)?;
    println!("latest anchored tree size: {}", latest.map_or("none".into(), |s| s.to_string()));
    for p in &c.partners {
        let st = anchor::store::partner_state(&l, &p.name).map_err(e)?;
        println!(
            "{}: cosigned up to {}, {} cosignatures, failures {:?}, last error {}",
            p.name,
            st.last_size,
            st.successes,
            st.failures,
            st.last_error.as_deref().unwrap_or("none")
        );
        if let Some(a) = &st.alarm {
            println!(
                "  ALARM {}: {} (evidence {}); not asked until `witness clear-alarm`",
                a.kind,
                a.message,
                a.evidence.as_deref().unwrap_or("not written")
            );
        }
    }
    Ok(())
}

fn print_policy(c: &AnchorConfig) {
    let q = &c.policy.quorum;
    println!(
        "anchor every {} s{}; anchored when {}{} of {} witnesses cosign",
        c.policy.interval_secs,
        if c.policy.every_entries > 0 {
            format!(" or {} entries", c.policy.every_entries)
        } else {
            String::new()
        },
        if q.required.is_empty() {
            String::new()
        } else {
            format!("{} and ", q.required.join(", "))
        },
        c.threshold(),
        c.partners.len()
    );
}
