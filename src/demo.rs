//! `evidence-ledger demo`: the whole flow on an embedded store, for a
//! newcomer. Starts the service, registers issuers, pushes contract flows
//! with two signers each over HTTP, checks the receipts with the verifier
//! crate, and prints what to look at.

use std::net::SocketAddr;
use std::path::PathBuf;

use ledger::{Ledger, LedgerOptions, Role};
use serde_json::{json, Value};
use verifier::checkpoint::SignedCheckpoint;
use verifier::hash::leaf_hash;
use verifier::note::NoteVerifier;
use verifier::proof::verify_inclusion;
use verifier::Hash;

use crate::cli::{app_state, runtime, CliResult};
use crate::flows::{contract_flow, Issuer, Services, Signer};

/// Options of the demo.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Data directory (default: a new directory under the system temp dir).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Number of contracts to push.
    #[arg(long, default_value_t = 3)]
    contracts: usize,
    /// Exit after pushing, instead of serving until Ctrl-C.
    #[arg(long)]
    exit: bool,
}

const TENANT: &str = "acme-contracts";

/// Runs the demo.
pub fn run(args: DemoArgs) -> CliResult {
    let dir = args.data.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("evidence-ledger-demo-{}", std::process::id()))
    });
    if !dir.join(ledger::keys::LOG_KEY_FILE).exists() {
        Ledger::init(&dir, "demo.evidence-ledger.local/log").map_err(|e| e.to_string())?;
    }
    let ledger = Ledger::open(&dir, LedgerOptions::default()).map_err(|e| e.to_string())?;
    let services = Services {
        idp: Issuer::random("idp-gov"),
        intent: Issuer::random("intent-svc"),
    };
    let names = [
        ("u-1001", "王*"),
        ("u-1002", "李*"),
        ("u-1003", "张*"),
        ("u-1004", "陈*"),
    ];
    let signers: Vec<Signer> = (0..args.contracts * 2)
        .map(|i| {
            let (id, display) = names[i % names.len()];
            Signer::random(&format!("{id}-{i}"), display)
        })
        .collect();
    for iss in [&services.idp, &services.intent]
        .into_iter()
        .chain(signers.iter().map(|s| &s.issuer))
    {
        ledger
            .add_issuer(&iss.name, iss.key.verifying_key().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let (submit, _) =
        crate::auth::issue(&ledger, TENANT, Role::Submitter).map_err(|e| e.to_string())?;
    let (legal, _) = crate::auth::issue(&ledger, TENANT, Role::Legal).map_err(|e| e.to_string())?;
    let state = app_state(ledger.clone())?;
    let rt = runtime()?;
    rt.block_on(async {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| e.to_string())?,
        };
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::server::run(listener, state, async {
            let _ = stopped.await;
        }));
        let base = format!("http://{addr}");
        let pushed = push(&base, &submit, &services, &signers, &ledger).await;
        match &pushed {
            Ok(docs) => print_guide(&base, &dir, &submit, &legal, docs),
            Err(e) => eprintln!("demo failed: {e}"),
        }
        if !args.exit && pushed.is_ok() {
            crate::server::shutdown_signal().await;
        }
        let _ = stop.send(());
        let _ = server.await;
        pushed.map(|_| ())
    })?;
    ledger.close();
    Ok(())
}

/// Pushes one flow per contract and checks every receipt offline.
async fn push(
    base: &str,
    token: &str,
    services: &Services,
    signers: &[Signer],
    ledger: &Ledger,
) -> Result<Vec<String>, String> {
    let client = reqwest::Client::new();
    let log = NoteVerifier::from_vkey(ledger.vkey()).map_err(|e| e.to_string())?;
    let mut docs = Vec::new();
    for (i, pair) in signers.chunks(2).enumerate() {
        let doc_id = format!("contract-2026-{:04}", i + 1);
        let document = format!("采购合同 No.{i}: the parties agree ...").into_bytes();
        let parties: Vec<&Signer> = pair.iter().collect();
        let events = contract_flow(services, &parties, &doc_id, &document);
        let resp = client
            .post(format!("{base}/v1/events"))
            .bearer_auth(token)
            .json(&json!({"events": events}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("POST /v1/events answered {status}: {body}"));
        }
        let receipts = body["receipts"].as_array().cloned().unwrap_or_default();
        for r in &receipts {
            check_receipt(r, &log, ledger)?;
        }
        println!(
            "contract {doc_id}: {} events durable, indices {}..={}, every inclusion proof verified",
            receipts.len(),
            receipts
                .first()
                .and_then(|r| r["index"].as_u64())
                .unwrap_or(0),
            receipts
                .last()
                .and_then(|r| r["index"].as_u64())
                .unwrap_or(0),
        );
        docs.push(doc_id);
    }
    Ok(docs)
}

fn check_receipt(r: &Value, log: &NoteVerifier, ledger: &Ledger) -> Result<(), String> {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let cp =
        SignedCheckpoint::verify(s("checkpoint").as_bytes(), log).map_err(|e| e.to_string())?;
    let index = r["index"].as_u64().ok_or("receipt without index")?;
    let lh = Hash::from_base64(&s("leaf_hash")).map_err(|e| e.to_string())?;
    let leaf = ledger.leaf(index).map_err(|e| e.to_string())?;
    if leaf_hash(&leaf) != lh {
        return Err(format!("leaf {index} does not hash to its receipt"));
    }
    let proof: Vec<Hash> = r["inclusion"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str().and_then(|h| Hash::from_base64(h).ok()))
                .collect()
        })
        .unwrap_or_default();
    verify_inclusion(&lh, index, cp.checkpoint.size, &proof, &cp.checkpoint.root)
        .map_err(|e| e.to_string())
}

fn print_guide(base: &str, dir: &std::path::Path, submit: &str, legal: &str, docs: &[String]) {
    let doc = docs
        .first()
        .map(String::as_str)
        .unwrap_or("contract-2026-0001");
    println!(
        "\nThe evidence ledger is serving at {base} (data in {dir}).\n\
         Look at:\n\
         \x20 curl {base}/v1/checkpoint                      # the signed checkpoint (C2SP signed note)\n\
         \x20 curl {base}/v1/log                             # origin and log verifier key\n\
         \x20 curl {base}/v1/entries/0                       # a leaf: canonical JSON of one event\n\
         \x20 curl '{base}/v1/proof/inclusion?index=0&tree_size=8'\n\
         \x20 curl '{base}/v1/proof/consistency?old=4&new=8'\n\
         \x20 curl -H 'Authorization: Bearer {legal}' {base}/v1/documents/{doc}/bundle\n\
         \x20 curl {base}/metrics\n\
         Submit more with the submitter token:\n\
         \x20 curl -H 'Authorization: Bearer {submit}' -d @event.json {base}/v1/events\n\
         Press Ctrl-C to stop.",
        dir = dir.display()
    );
}
