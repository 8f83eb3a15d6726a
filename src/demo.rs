//! `evidence-ledger demo`: the whole flow on an embedded store, for a
//! newcomer. Starts the service, registers issuers, pushes contract flows
//! with two signers each over HTTP, checks the receipts with the verifier
//! crate, and prints what to look at.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anchor::AnchorConfig;
use ledger::{Ledger, LedgerOptions, Role};
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle_bytes, VerifyOptions};
use verifier::checkpoint::SignedCheckpoint;
use verifier::hash::leaf_hash;
use verifier::note::NoteVerifier;
use verifier::policy::TrustPolicy;
use verifier::proof::verify_inclusion;
use verifier::Hash;

use crate::cmd::{runtime, CliResult};
use crate::flows::{contract_flow_on, Issuer, Services, Signer};
use crate::state::app_state;

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
/// The court's trust policy, written beside the bundle.
const POLICY_FILE: &str = "court.policy";

/// Runs the demo.
pub fn run(args: DemoArgs) -> CliResult {
    let dir = args.data.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("evidence-ledger-demo-{}", std::process::id()))
    });
    if !dir.join(ledger::keys::LOG_KEY_FILE).exists() {
        Ledger::init(&dir, "demo.evidence-ledger.local/log").map_err(|e| e.to_string())?;
    }
    let ledger = Ledger::open(&dir, LedgerOptions::default()).map_err(|e| e.to_string())?;
    let mut keys = DemoKeys::load(&dir)?;
    let services = Services { idp: keys.issuer("idp-gov")?, intent: keys.issuer("intent-svc")? };
    // Fictional people: the identity goes into the private identity
    // opening only (evidence v2); the public leaf never shows it.
    let names = [
        ("u-1001", "王*", "王小明"),
        ("u-1002", "李*", "李华"),
        ("u-1003", "张*", "张伟"),
        ("u-1004", "陈*", "陈静"),
    ];
    let signers: Vec<Signer> = (0..args.contracts * 2)
        .map(|i| {
            let (id, display, name) = names[i % names.len()];
            let id = format!("{id}-{i}");
            let identity = serde_json::json!({
                "name": name, "id_type": "resident_id",
                "id_number": format!("11010119900307{:04}", 1000 + i), "phone": "+86 138 0000 0000",
            });
            Ok(Signer::with_issuer(&id, display, keys.issuer(&format!("signer:{id}"))?)
                .with_identity(identity))
        })
        .collect::<Result<_, String>>()?;
    keys.save()?;
    for iss in
        [&services.idp, &services.intent].into_iter().chain(signers.iter().map(|s| &s.issuer))
    {
        ledger
            .add_issuer(&iss.name, iss.key.verifying_key().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let issue = |role| {
        crate::auth::issue(&ledger, TENANT, role, None, ledger::OPERATOR_ACTOR)
            .map(|(token, _)| token)
            .map_err(|e| e.to_string())
    };
    let (submit, legal) = (issue(Role::Submitter)?, issue(Role::Legal)?);
    let rt = runtime()?;
    rt.block_on(async {
        let (witness_stop, witnesses) = start_witnesses(&dir, &ledger).await?;
        let state = app_state(ledger.clone())?;
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(_) => {
                tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?
            }
        };
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::server::run(listener, state, async {
            let _ = stopped.await;
        }));
        let base = format!("http://{addr}");
        let mut pushed = push(&base, &submit, &services, &signers, &ledger).await;
        if let Ok(docs) = &pushed {
            let trust = Trust { log_vkey: ledger.vkey(), witnesses: &witnesses };
            pushed = evidence(&base, &legal, &dir, docs, &trust).await.map(|_| docs.clone());
        }
        match &pushed {
            Ok(docs) => print_guide(&base, &dir, &submit, &legal, docs),
            Err(e) => eprintln!("demo failed: {e}"),
        }
        if !args.exit && pushed.is_ok() {
            crate::server::shutdown_signal().await;
        }
        let _ = stop.send(());
        let _ = server.await;
        let _ = witness_stop.send(true);
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
        let document = contract_text(i);
        let parties: Vec<&Signer> = pair.iter().collect();
        let events = contract_flow_on(
            ledger.origin(),
            ledger.suite(),
            TENANT,
            services,
            &parties,
            &doc_id,
            &document,
        );
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
            receipts.first().and_then(|r| r["index"].as_u64()).unwrap_or(0),
            receipts.last().and_then(|r| r["index"].as_u64()).unwrap_or(0),
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
            a.iter().filter_map(|h| h.as_str().and_then(|h| Hash::from_base64(h).ok())).collect()
        })
        .unwrap_or_default();
    verify_inclusion(&lh, index, cp.checkpoint.size, &proof, &cp.checkpoint.root)
        .map_err(|e| e.to_string())
}

/// The demo's issuer keys, kept in the data directory so that running the
/// demo again on it signs the same events the same way (and is replayed).
struct DemoKeys {
    path: PathBuf,
    seeds: std::collections::BTreeMap<String, String>,
}

impl DemoKeys {
    fn load(dir: &Path) -> Result<DemoKeys, String> {
        let path = dir.join("demo-issuers.json");
        let seeds = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(_) => Default::default(),
        };
        Ok(DemoKeys { path, seeds })
    }

    fn issuer(&mut self, name: &str) -> Result<Issuer, String> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        if let Some(seed) = self.seeds.get(name) {
            let raw = b64.decode(seed).map_err(|e| e.to_string())?;
            let seed: [u8; 32] = raw.try_into().map_err(|_| "demo seed: not 32 bytes")?;
            return Ok(Issuer::from_seed(name, seed));
        }
        let issuer = Issuer::random(name);
        self.seeds.insert(name.to_string(), b64.encode(issuer.key.to_bytes()));
        Ok(issuer)
    }

    fn save(&self) -> Result<(), String> {
        let json = serde_json::to_vec_pretty(&self.seeds).map_err(|e| e.to_string())?;
        std::fs::write(&self.path, json).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// Two witnesses — a notary office and a court — served in-process on
/// loopback, trusting this log; anchoring configured with both required.
async fn start_witnesses(
    dir: &Path,
    ledger: &Ledger,
) -> Result<(tokio::sync::watch::Sender<bool>, Vec<(String, String)>), String> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut config = AnchorConfig::default();
    config.policy.interval_secs = 2;
    let mut out = Vec::new();
    for name in ["notary-office.demo", "court.demo"] {
        let wdir = dir.join(format!("witness-{name}"));
        if !wdir.exists() {
            let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
            notary_bridge::store::init(&wdir, name, &key).map_err(|e| e.to_string())?;
            notary_bridge::state::add_log(&wdir, ledger.vkey()).map_err(|e| e.to_string())?;
        }
        let witness = Arc::new(notary_bridge::Witness::open(&wdir).map_err(|e| e.to_string())?);
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
        config.add_partner(&witness.vkey(), &url).map_err(|e| e.to_string())?;
        out.push((name.to_string(), witness.vkey()));
        let mut rx = stopped.clone();
        tokio::spawn(notary_bridge::server::run(listener, witness, async move {
            let _ = rx.wait_for(|s| *s).await;
        }));
    }
    config.save(ledger).map_err(|e| e.to_string())?;
    Ok((stop, out))
}

/// The keys a court would trust for the demo's log: the log's and the two
/// witnesses' (name, vkey).
struct Trust<'a> {
    log_vkey: &'a str,
    witnesses: &'a [(String, String)],
}

impl Trust<'_> {
    /// The court's trust policy file (docs/trust-policy.md): both witnesses
    /// required.
    fn policy(&self) -> Result<TrustPolicy, String> {
        let mut p = TrustPolicy::default();
        p.add_log(self.log_vkey)?;
        for (_, v) in self.witnesses {
            p.add_witness(v)?;
        }
        p.quorum = Some(self.witnesses.len());
        Ok(p)
    }
}

/// Waits for the flows to be anchored, then fetches one contract's bundle,
/// saves it with the contract file and a court's trust policy, and checks it
/// as a court would: against the policy, never against the bundle's keys.
async fn evidence(
    base: &str,
    legal: &str,
    dir: &Path,
    docs: &[String],
    trust: &Trust<'_>,
) -> Result<(), String> {
    let witnesses = trust.witnesses;
    let client = reqwest::Client::new();
    let Some(doc) = docs.first() else {
        return Ok(());
    };
    let size = ledger_size(&client, base, "/v1/checkpoint/latest").await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let note = loop {
        let note =
            client.get(format!("{base}/v1/checkpoint")).send().await.map_err(|e| e.to_string())?;
        let note = note.text().await.map_err(|e| e.to_string())?;
        let cosigned = witnesses.iter().all(|(n, _)| note.contains(&format!("— {n} ")));
        if cosigned && note.lines().nth(1) == Some(size.to_string().as_str()) {
            break note;
        }
        if std::time::Instant::now() > deadline {
            return Err("the witnesses did not cosign within 20 s".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    println!("\nAnchored: the notary office and the court cosigned the checkpoint:\n{note}");
    let bundle = client
        .get(format!("{base}/v1/documents/{doc}/bundle"))
        .bearer_auth(legal)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let bundle_path = dir.join(format!("{doc}.bundle.json"));
    let doc_path = dir.join(format!("{doc}.txt"));
    std::fs::write(&bundle_path, &bundle).map_err(|e| e.to_string())?;
    std::fs::write(&doc_path, contract_text(0)).map_err(|e| e.to_string())?;
    let policy = trust.policy()?;
    let policy_path = dir.join(POLICY_FILE);
    let text = format!(
        "# The demo court's trust policy: the keys it checks evidence against.\n\
         # A real court writes this once, from keys the log operator and each\n\
         # witness operator publish, never from a bundle.\n{}",
        policy.to_text()
    );
    std::fs::write(&policy_path, text).map_err(|e| e.to_string())?;
    let options =
        VerifyOptions::with_policy(policy, format!("the policy file {}", policy_path.display()))
            .with_document(&contract_text(0));
    let report = verify_bundle_bytes(&bundle, &options);
    println!(
        "Evidence bundle of {doc}: {} checks. {}\n  saved to {}\n  contract file {}\n  trust policy {}",
        report.checks.len(),
        report.verdict.summary,
        bundle_path.display(),
        doc_path.display(),
        policy_path.display()
    );
    if !report.passed {
        return Err(report.to_text());
    }
    Ok(())
}

async fn ledger_size(client: &reqwest::Client, base: &str, path: &str) -> Result<u64, String> {
    let note = client.get(format!("{base}{path}")).send().await.map_err(|e| e.to_string())?;
    let note = note.text().await.map_err(|e| e.to_string())?;
    note.lines().nth(1).and_then(|l| l.parse().ok()).ok_or_else(|| "bad checkpoint".to_string())
}

/// The demo's contract documents.
fn contract_text(i: usize) -> Vec<u8> {
    format!("采购合同 No.{i}: the parties agree ...").into_bytes()
}

/// The `verifier` binary, built beside this one.
fn verifier_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("verifier")))
        .unwrap_or_else(|| PathBuf::from("verifier"))
}

fn print_guide(base: &str, dir: &Path, submit: &str, legal: &str, docs: &[String]) {
    let doc = docs.first().map(String::as_str).unwrap_or("contract-2026-0001");
    let hash = Hash::digest(&contract_text(0)).to_hex();
    let bundle = dir.join(format!("{doc}.bundle.json"));
    let file = dir.join(format!("{doc}.txt"));
    let policy = dir.join(POLICY_FILE);
    println!(
        "\nThe evidence ledger is serving at {base} (data in {dir}).\n\
         Look at:\n\
         \x20 curl {base}/v1/checkpoint                      # anchored checkpoint: log signature + 2 cosignatures\n\
         \x20 curl {base}/v1/log                             # origin, log verifier key, witnesses\n\
         \x20 curl {base}/v1/entries/0                       # a public leaf: a commitment and a time, nothing else\n\
         \x20 curl '{base}/v1/lookup?document_hash={hash}'   # what the holder of the file sees (no names, no ids)\n\
         \x20 curl '{base}/v1/proof/inclusion?index=0&tree_size=8'\n\
         \x20 curl '{base}/v1/proof/consistency?old=4&new=8'\n\
         \x20 curl -H 'Authorization: Bearer {legal}' {base}/v1/documents/{doc}/bundle\n\
         \x20 curl -H 'Authorization: Bearer {legal}' {base}/v1/documents/{doc}/report -o report.html\n\
         \x20 curl -H 'Authorization: Bearer {legal}' '{base}/v1/documents/{doc}/report?format=pdf' -o report.pdf\n\
         \x20 curl {base}/metrics\n\
         Check the evidence offline, as a court would, against the keys in its trust policy:\n\
         \x20 {verifier} verify {bundle} --document {file} --policy {policy}\n\
         (Without --policy the verdict is NOT VERIFIED: keys that come with a bundle prove nothing.)\n\
         or open {base}/verify in a browser and drop both files there.\n\
         Submit more with the submitter token:\n\
         \x20 curl -H 'Authorization: Bearer {submit}' -d @event.json {base}/v1/events\n\
         Press Ctrl-C to stop.",
        dir = dir.display(),
        bundle = bundle.display(),
        file = file.display(),
        policy = policy.display(),
        verifier = verifier_path().display(),
    );
}
