//! `witness` and `anchor`: the witnesses (notary offices, courts) that
//! cosign checkpoints, the anchoring schedule and quorum, and progress.

use std::path::PathBuf;

use anchor::AnchorConfig;
use clap::Subcommand;

use crate::cmd::{look, open, read_ca, CliResult};

#[derive(Subcommand)]
pub(super) enum WitnessCommand {
    /// Add a witness by its cosignature/v1 vkey and its tlog-witness URL.
    Add {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        vkey: String,
        /// Base URL; the ledger POSTs to <url>/add-checkpoint.
        #[arg(long)]
        url: String,
        /// PEM CA certificate(s) to trust for an https URL (a private CA).
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
        #[arg(long)]
        data: PathBuf,
    },
    /// Remove a witness (its past cosignatures are kept).
    Remove {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub(super) enum AnchorCommand {
    /// Set when to anchor and which cosignatures make a checkpoint anchored.
    Policy {
        #[arg(long)]
        data: PathBuf,
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

pub(super) fn witness(cmd: WitnessCommand) -> CliResult {
    let e = |e: anchor::AnchorError| e.to_string();
    match cmd {
        WitnessCommand::Add { data, vkey, url, ca_cert } => {
            let ca_pem = read_ca(ca_cert.as_deref())?;
            let l = open(&data)?;
            let mut c = AnchorConfig::load(&l).map_err(e)?;
            let name = c.add_partner_with_ca(&vkey, &url, ca_pem).map_err(e)?.name.clone();
            c.save(&l).map_err(e)?;
            println!("added witness {name} at {url}");
        }
        WitnessCommand::List { data } => {
            let c = AnchorConfig::load(&look(&data)?).map_err(e)?;
            for p in &c.partners {
                println!("{} {} {}", p.name, p.url, p.vkey);
            }
            print_policy(&c);
        }
        WitnessCommand::ClearAlarm { data, name } => {
            match anchor::store::clear_alarm(&open(&data)?, &name).map_err(e)? {
                Some(a) => {
                    println!("cleared {} alarm of {name} (evidence: {:?})", a.kind, a.evidence)
                }
                None => println!("{name} had no alarm"),
            }
        }
        WitnessCommand::Remove { data, name } => {
            let l = open(&data)?;
            let mut c = AnchorConfig::load(&l).map_err(e)?;
            c.remove_partner(&name).map_err(e)?;
            c.save(&l).map_err(e)?;
            println!("removed witness {name}");
        }
    }
    Ok(())
}

pub(super) fn anchor_cmd(cmd: AnchorCommand) -> CliResult {
    let e = |e: anchor::AnchorError| e.to_string();
    match cmd {
        AnchorCommand::Policy { data, interval, every, require, threshold } => {
            let l = open(&data)?;
            let mut c = AnchorConfig::load(&l).map_err(e)?;
            if let Some(i) = interval {
                c.policy.interval_secs = i.max(1);
            }
            if let Some(n) = every {
                c.policy.every_entries = n;
            }
            if !require.is_empty() {
                c.policy.quorum.required = require;
            }
            if let Some(t) = threshold {
                c.policy.quorum.threshold = t;
            }
            c.save(&l).map_err(e)?;
            print_policy(&c);
        }
        AnchorCommand::Status { data } => {
            let l = look(&data)?;
            let c = AnchorConfig::load(&l).map_err(e)?;
            print_policy(&c);
            let latest = anchor::store::latest_anchored_size(&l).map_err(e)?;
            println!(
                "latest anchored tree size: {}",
                latest.map_or("none".into(), |s| s.to_string())
            );
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
