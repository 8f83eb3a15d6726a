//! The operator CLI (pinned in DESIGN.md): init, token, issuer, serve; plus
//! status, demo and load.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anchor::AnchorConfig;
use base64::Engine as _;
use clap::{Parser, Subcommand};
use ledger::{Ledger, LedgerOptions, Role, StoreConfig};
use verifier::policy::TrustPolicy;

use crate::api::AppState;
use crate::metrics::Metrics;

/// Evidence ledger: an append-only, Merkle-chained evidence log.
#[derive(Parser)]
#[command(name = "evidence-ledger", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the log key and the store.
    Init {
        #[arg(long)]
        data: PathBuf,
        /// The log's origin, also its key name (e.g. ledger.example.com/evidence).
        #[arg(long)]
        origin: String,
        /// The store: `rocksdb` (the default, in DIR/db) or a
        /// `postgres://` URL (its schema is migrated; the URL is kept in
        /// DIR/store, 0600, for every later command; docs/postgres.md).
        #[arg(long)]
        store: Option<String>,
    },
    /// Bring a store to this build's schema: a PostgreSQL database's
    /// migrations (safe to repeat, and beside a running older server only
    /// where docs/postgres.md says so), or a RocksDB store's families.
    Migrate {
        /// Data directory (its store, RocksDB or the URL in DIR/store).
        #[arg(long, required_unless_present = "store")]
        data: Option<PathBuf>,
        /// A `postgres://` URL (overrides DIR/store).
        #[arg(long)]
        store: Option<String>,
    },
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage trusted attestation issuers.
    Issuer {
        #[command(subcommand)]
        command: IssuerCommand,
    },
    /// Serve the HTTP API.
    Serve {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Serve a store older than the newest checkpoint this directory
        /// handed out (after restoring a backup on purpose; see docs/durability.md).
        #[arg(long)]
        allow_rollback: bool,
        /// Accept v1 attestations (which bind neither tenant, contract nor
        /// actor) from this tenant's submitters: a migration aid while its
        /// issuers move to v2 (repeatable). Every other tenant's are refused.
        #[arg(long = "accept-v1-attestations", value_name = "TENANT")]
        accept_v1_attestations: Vec<String>,
        /// How often the tenants' retention policies are applied
        /// (`POST /v1/retention`), in seconds.
        #[arg(long = "retention-sweep-secs", default_value_t = 3600)]
        retention_sweep_secs: u64,
        /// The store, overriding DIR/store: `rocksdb` or a `postgres://`
        /// URL (e.g. the promoted standby after a failover). On
        /// PostgreSQL a second server waits as a standby until the
        /// sequencer's lease is free (docs/postgres.md).
        #[arg(long)]
        store: Option<String>,
        #[command(flatten)]
        limits: ServeLimits,
    },
    /// Manage trusted RFC 3161 time-stamp authorities.
    Tsa {
        #[command(subcommand)]
        command: TsaCommand,
    },
    /// Manage the witnesses (notary offices, courts) that cosign checkpoints.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Anchoring schedule, quorum and progress.
    Anchor {
        #[command(subcommand)]
        command: AnchorCommand,
    },
    /// Print the log's origin, vkey, size and root.
    Status {
        #[arg(long)]
        data: PathBuf,
    },
    /// Check the store: re-read every leaf, recompute every stored hash and
    /// the root, match every signed checkpoint, check the indexes (read-only;
    /// works beside a running server). Exits non-zero on any inconsistency.
    Audit {
        #[arg(long)]
        data: PathBuf,
    },
    /// Copy the store and log key into a new directory (also while the
    /// server runs), and audit the copy.
    Backup {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        to: PathBuf,
    },
    /// Rotate the master key (server stopped): re-wrap every document key
    /// under a new one and destroy the old (evidence v2; docs/durability.md).
    RotateMasterKey {
        #[arg(long)]
        data: PathBuf,
    },
    /// Put a backup in place of a lost store (move a damaged one away
    /// first); the server then refuses it if it is older than what was
    /// handed out, unless `serve --allow-rollback`.
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        data: PathBuf,
    },
    /// C2SP tlog-tiles (docs/tiles.md): publish them to object storage.
    Tiles {
        #[command(subcommand)]
        command: TilesCommand,
    },
    /// Run the whole flow on an embedded store: serve, push contract flows, show proofs.
    Demo(crate::demo::DemoArgs),
    /// Drive the HTTP API with signed events from many clients; print events/s and latencies.
    Load(crate::load::LoadArgs),
}

/// Where a token command acts: on a stopped server's data directory, or
/// through a running server's admin API (`--server URL`, with a platform
/// or tenant-admin token in the environment variable
/// `EVIDENCE_LEDGER_TOKEN`).
#[derive(clap::Args)]
struct TokenTarget {
    /// Data directory of a stopped server.
    #[arg(long, required_unless_present = "server")]
    data: Option<PathBuf>,
    /// Base URL of the running server (e.g. http://127.0.0.1:8080).
    #[arg(long, conflicts_with = "data")]
    server: Option<String>,
}

/// Per-tenant quotas and admission control of `serve` (0 turns a limit off).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ServeLimits {
    /// Every tenant's average events/s (bursts of 2 s of it); 0: no limit.
    #[arg(long = "tenant-events-per-sec", default_value_t = 0.0)]
    tenant_events_per_sec: f64,
    /// Every tenant's request bytes per UTC day; 0: no limit.
    #[arg(long = "tenant-bytes-per-day", default_value_t = 0)]
    tenant_bytes_per_day: u64,
    /// One tenant's own quota, TENANT=EVENTS_PER_SEC:BYTES_PER_DAY (repeatable).
    #[arg(long = "tenant-quota")]
    tenant_quota: Vec<String>,
    /// Most submitted events in the service at once; past it, 503 + Retry-After.
    #[arg(long = "max-in-flight-events", default_value_t = crate::api::admission::DEFAULT_MAX_IN_FLIGHT_EVENTS)]
    max_in_flight_events: usize,
    /// Most submission requests in the service at once; past it, 503 + Retry-After.
    #[arg(long = "max-in-flight-requests", default_value_t = crate::api::admission::DEFAULT_MAX_IN_FLIGHT_REQUESTS)]
    max_in_flight_requests: usize,
}

impl ServeLimits {
    /// The admission settings these flags describe.
    pub fn config(&self) -> Result<crate::api::admission::AdmissionConfig, String> {
        use crate::api::admission::{parse_override, AdmissionConfig, Quota};
        if !self.tenant_events_per_sec.is_finite() || self.tenant_events_per_sec < 0.0 {
            return Err("--tenant-events-per-sec: a number >= 0".into());
        }
        let overrides =
            self.tenant_quota.iter().map(|s| parse_override(s)).collect::<Result<_, _>>()?;
        Ok(AdmissionConfig {
            default_quota: Quota {
                events_per_sec: self.tenant_events_per_sec,
                bytes_per_day: self.tenant_bytes_per_day,
            },
            overrides,
            max_in_flight_events: self.max_in_flight_events.max(1),
            max_in_flight_requests: self.max_in_flight_requests.max(1),
            ..AdmissionConfig::default()
        })
    }
}

#[derive(Subcommand)]
enum TokenCommand {
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

#[derive(Subcommand)]
enum TilesCommand {
    /// Upload the current checkpoint's tiles, entry bundles and then
    /// `checkpoint` to an S3-compatible bucket, incrementally (read-only on
    /// the store; works beside a running server). Credentials and region
    /// from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
    Publish {
        #[arg(long)]
        data: PathBuf,
        /// s3://BUCKET[/PREFIX]; the bucket must exist.
        #[arg(long)]
        to: String,
        /// The S3 endpoint (e.g. http://127.0.0.1:8333 or https://s3.example.com);
        /// AWS's when omitted (or AWS_ENDPOINT).
        #[arg(long)]
        endpoint: Option<String>,
        /// Allow a plain-http endpoint.
        #[arg(long)]
        allow_http: bool,
    },
}

#[derive(Subcommand)]
enum TsaCommand {
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

#[derive(Subcommand)]
enum WitnessCommand {
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
enum AnchorCommand {
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

#[derive(Subcommand)]
enum IssuerCommand {
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

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A CLI failure, printed as `error: ...`.
pub type CliResult = Result<(), String>;

fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Init { data, origin, store } => {
            let config = match store {
                Some(s) => StoreConfig::parse(&s).map_err(|e| e.to_string())?,
                None => StoreConfig::RocksDb,
            };
            let vkey = Ledger::init_with(&data, &origin, &config).map_err(|e| e.to_string())?;
            println!("initialised {}\nlog vkey: {vkey}", data.display());
            Ok(())
        }
        Command::Migrate { data, store } => migrate(data.as_deref(), store.as_deref()),
        Command::Token { command } => token(command),
        Command::Issuer { command } => issuer(command),
        Command::Serve {
            data,
            listen,
            allow_rollback,
            accept_v1_attestations,
            retention_sweep_secs,
            store,
            limits,
        } => serve(
            &data,
            listen,
            allow_rollback,
            accept_v1_attestations,
            retention_sweep_secs,
            store.as_deref(),
            &limits,
        ),
        Command::Witness { command } => witness(command),
        Command::Tiles { command: TilesCommand::Publish { data, to, endpoint, allow_http } } => {
            let target = crate::publish::Target::parse(&to)?;
            let store = target.s3(endpoint.as_deref(), allow_http)?;
            let ledger = look(&data)?;
            let started = std::time::Instant::now();
            let p = runtime()?.block_on(crate::publish::publish(&ledger, &store, &target))?;
            println!(
                "published checkpoint of size {} to {to} (previously {}): {} tiles, {} bytes, {:.1?}",
                p.size,
                p.previous,
                p.tiles,
                p.bytes,
                started.elapsed()
            );
            Ok(())
        }
        Command::Tsa { command } => tsa(command),
        Command::Anchor { command } => anchor_cmd(command),
        Command::Status { data } => {
            let l = look(&data)?;
            let s = l.status();
            println!(
                "origin: {}\nvkey: {}\ntree size: {}\nroot: {}",
                s.origin, s.vkey, s.tree_size, s.root
            );
            print!("checkpoint:\n{}", s.checkpoint);
            Ok(())
        }
        Command::Audit { data } => crate::maint::audit(&data),
        Command::Backup { data, to } => crate::maint::backup(&data, &to),
        Command::RotateMasterKey { data } => {
            let n = ledger::rotate_master_key(&data).map_err(|e| e.to_string())?;
            println!(
                "master key rotated: {n} keys re-wrapped under {}; the old key is gone, and \
                 backups taken before cannot be opened with the new one",
                ledger::vault::master_key_path(&data).display()
            );
            Ok(())
        }
        Command::Restore { from, data } => crate::maint::restore(&from, &data),
        Command::Demo(args) => crate::demo::run(args),
        Command::Load(args) => crate::load::run(args),
    }
}

/// Opens a data directory to look only; works beside a running server.
pub fn look(data: &Path) -> Result<Ledger, String> {
    Ledger::open_read_only(data).map_err(|e| e.to_string())
}

/// Opens a data directory for an offline command, with a clear word when a
/// running server holds it (its RocksDB lock, or its PostgreSQL store's
/// sequencer lease).
pub fn open(data: &Path) -> Result<Ledger, String> {
    let store = ledger::configured_store(data).map_err(|e| e.to_string())?;
    Ledger::open(data, LedgerOptions { store, ..LedgerOptions::default() }).map_err(|e| {
        let s = e.to_string();
        if s.contains("lock") || s.contains("is the sequencer") {
            format!(
                "{s}\nthe store is in use by a running server: stop it, or use the admin API \
                 (token commands: --server URL with EVIDENCE_LEDGER_TOKEN set)"
            )
        } else {
            s
        }
    })
}

fn token(cmd: TokenCommand) -> CliResult {
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
fn cmd_remote(cmd: TokenCommand) -> crate::remote::TokenOp {
    use crate::remote::TokenOp;
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

fn issuer(cmd: IssuerCommand) -> CliResult {
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

/// Builds the shared state of a server over an open ledger, starting the
/// anchoring thread when witnesses are configured.
pub fn app_state(ledger: Ledger) -> Result<Arc<AppState>, String> {
    app_state_with(ledger, crate::api::admission::AdmissionConfig::default())
}

/// [`app_state`] with admission settings.
pub fn app_state_with(
    ledger: Ledger,
    admission: crate::api::admission::AdmissionConfig,
) -> Result<Arc<AppState>, String> {
    let config = AnchorConfig::load(&ledger).map_err(|e| e.to_string())?;
    let witnesses = config.partners.iter().map(|p| (p.name.clone(), p.vkey.clone())).collect();
    let trust = service_policy(&ledger, &config)?;
    let anchor = if !config.is_active() {
        None
    } else {
        Some(anchor::Anchorer::start(ledger.clone()).map_err(|e| e.to_string())?)
    };
    Ok(Arc::new(AppState {
        ledger,
        metrics: Metrics::new().map_err(|e| e.to_string())?,
        witnesses,
        trust,
        anchor,
        ready: AtomicBool::new(true),
        admission: crate::api::admission::Admission::new(admission),
    }))
}

/// The service's own trust anchors, as a policy: its log key, its
/// witnesses with the anchoring quorum, its TSA roots. `POST /v1/verify`
/// and reports check against it (docs/trust-policy.md §4).
fn service_policy(ledger: &Ledger, config: &AnchorConfig) -> Result<TrustPolicy, String> {
    let mut policy = TrustPolicy::default();
    policy.add_log(ledger.vkey())?;
    for p in &config.partners {
        // One key under two names is one witness (the policy counts keys).
        if let Err(e) = policy.add_witness(&p.vkey) {
            tracing::warn!("witness {} left out of the service's trust policy: {e}", p.name);
        }
    }
    let distinct = policy.distinct_witness_keys().len();
    policy.quorum =
        Some(if config.partners.is_empty() { 0 } else { config.threshold().min(distinct) });
    for t in ledger.tsa_records().map_err(|e| e.to_string())? {
        policy.add_tsa(&t.name, &t.root_pem)?;
    }
    Ok(policy)
}

fn tsa(cmd: TsaCommand) -> CliResult {
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

fn witness(cmd: WitnessCommand) -> CliResult {
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

/// Reads a PEM CA bundle given with `--ca-cert`.
fn read_ca(path: Option<&Path>) -> Result<Option<String>, String> {
    path.map(|p| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display())))
        .transpose()
}

fn anchor_cmd(cmd: AnchorCommand) -> CliResult {
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

/// A tokio runtime for the server.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())
}

/// `migrate`: a PostgreSQL database's schema migrations, or a RocksDB
/// store opened (which creates the column families a newer build adds).
fn migrate(data: Option<&Path>, store: Option<&str>) -> CliResult {
    let config = match (store, data) {
        (Some(s), _) => StoreConfig::parse(s).map_err(|e| e.to_string())?,
        (None, Some(d)) => ledger::configured_store(d).map_err(|e| e.to_string())?,
        (None, None) => return Err("migrate: --data or --store".into()),
    };
    match (config, data) {
        (StoreConfig::Postgres { url, .. }, _) => {
            let (before, after) = ledger::pg::migrate(&url).map_err(|e| e.to_string())?;
            if before == after {
                println!("schema version {after}: up to date");
            } else {
                println!("schema migrated from version {before} to {after}");
            }
        }
        (StoreConfig::RocksDb, Some(d)) => {
            let dir = d.join("db");
            if !dir.exists() {
                return Err(format!("{} has no store: run init first", d.display()));
            }
            ledger::store::Store::open(&dir).map_err(|e| e.to_string())?;
            println!("RocksDB store in {}: every column family present", dir.display());
        }
        (StoreConfig::RocksDb, None) => return Err("migrate: a RocksDB store needs --data".into()),
    }
    Ok(())
}

fn serve(
    data: &Path,
    listen: SocketAddr,
    allow_rollback: bool,
    accept_v1: Vec<String>,
    retention_sweep_secs: u64,
    store: Option<&str>,
    limits: &ServeLimits,
) -> CliResult {
    let admission = limits.config()?;
    let store = match store {
        Some(s) => StoreConfig::parse(s),
        None => ledger::configured_store(data),
    }
    .map_err(|e| e.to_string())?;
    let opts = LedgerOptions {
        allow_rollback,
        accept_v1_attestations: accept_v1.into_iter().collect(),
        store,
        wait_for_lease: true,
        ..LedgerOptions::default()
    };
    let ledger = Ledger::open(data, opts).map_err(|e| e.to_string())?;
    {
        // A sequencer whose lease's session ended stops at once: another
        // process may be taking over (its writes are fenced anyway).
        // Restarted, it waits as a standby. Nothing acknowledged is lost:
        // receipts are only sent after the commit.
        let l = ledger.clone();
        std::thread::Builder::new()
            .name("lease-watch".into())
            .spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if l.lease_lost() {
                    tracing::error!("sequencer lease lost: exiting");
                    std::process::exit(75);
                }
            })
            .map_err(|e| e.to_string())?;
    }
    let state = app_state_with(ledger.clone(), admission)?;
    let stop_sweeps = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let (state, stop) = (state.clone(), stop_sweeps.clone());
        std::thread::Builder::new()
            .name("retention".into())
            .spawn(move || retention_loop(&state, retention_sweep_secs.max(1), &stop))
            .map_err(|e| e.to_string())?
    };
    let rt = runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        tracing::info!(
            origin = ledger.origin(),
            size = ledger.status().tree_size,
            "serving on {addr}"
        );
        crate::server::run(listener, state.clone(), crate::server::shutdown_signal()).await;
        Ok::<(), String>(())
    })?;
    if let Some(a) = &state.anchor {
        a.stop();
    }
    stop_sweeps.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sweeper.join();
    // In-flight requests are done; let queued batches commit, then stop.
    ledger.close();
    tracing::info!("stopped cleanly at tree size {}", ledger.status().tree_size);
    Ok(())
}

/// Applies the tenants' retention policies every `secs` seconds until
/// `stop` (evidence v2: erasure N days after a contract completed).
fn retention_loop(state: &crate::api::AppState, secs: u64, stop: &std::sync::atomic::AtomicBool) {
    use std::sync::atomic::Ordering;
    let mut waited = 0;
    while !stop.load(Ordering::Relaxed) {
        if waited >= secs {
            waited = 0;
            match crate::api::erase::sweep_retention(state, stop) {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: erased {n} documents"),
                Err(e) => tracing::error!("retention sweep: {}", e.message),
            }
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        waited += 1;
    }
}
