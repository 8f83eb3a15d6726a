//! The operator CLI (pinned in DESIGN.md): init, token, issuer, serve; plus
//! status, ers (evidence records), demo and load.
//!
//! This module parses the command line and dispatches; each group of
//! commands lives in a submodule (`store`, `serve`, `tokens`, `trust`,
//! `anchoring`, `tenants`, `ers`), the maintenance commands, the demo and the load tool in
//! their own modules, and what they all share in [`crate::cmd`].

mod anchoring;
mod ers;
mod serve;
mod store;
mod tenants;
mod tokens;
mod trust;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd::CliResult;
use anchoring::{AnchorCommand, WitnessCommand};
pub use serve::{PgServeOptions, ServeLimits};
use store::TilesCommand;
pub use tokens::token_line;
use tokens::TokenCommand;
use trust::{IssuerCommand, TsaCommand};

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
        /// The log's Ed25519 key in a PKCS#11 token, as an RFC 7512 URI
        /// (`pkcs11:token=…;object=…?module-path=…&pin-source=…`; the PIN
        /// from pin-source, pin-value or EVIDENCE_LEDGER_PKCS11_PIN): the
        /// key of that name, generated there when missing. DIR/log.pkcs11
        /// records the URI (no PIN); no DIR/log.key is made.
        #[arg(long, value_name = "PKCS11_URI")]
        log_key: Option<String>,
        /// The master key (AES-256) in a PKCS#11 token, as an RFC 7512
        /// URI: generated there (sensitive, non-extractable) when missing;
        /// document keys are wrapped and unwrapped by the token.
        /// DIR/keys/master.pkcs11 records the URI; no master.key is made.
        #[arg(long, value_name = "PKCS11_URI")]
        master_key: Option<String>,
        /// The log's cryptographic suite, chosen once: `ed25519-sha256`
        /// (the default) or `sm2-sm3` (SM3 tree, SM2 checkpoints;
        /// docs/formats.md). The log key's type records it.
        #[arg(long, default_value = "ed25519-sha256")]
        suite: String,
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
        #[command(flatten)]
        pg: PgServeOptions,
        /// The service's public base URL (e.g. https://ledger.example.com),
        /// for the link in the evidence reports' QR code to /verify. Without
        /// it the reports print the path alone, with a note.
        #[arg(long = "public-url", value_name = "URL")]
        public_url: Option<String>,
        #[command(flatten)]
        ers: ers::ErsServeOptions,
        /// The suite this log must have (refused if `init` chose another).
        #[arg(long)]
        suite: Option<String>,
    },
    /// Manage trusted RFC 3161 time-stamp authorities.
    Tsa {
        #[command(subcommand)]
        command: TsaCommand,
    },
    /// RFC 4998 evidence records: export one over a contract's bundle, renew one.
    Ers {
        #[command(subcommand)]
        command: ers::ErsCommand,
    },
    /// Tenant records (quota, lookup default, retention minimum), on a stopped
    /// server's data directory (`--data`) or through a running server (`--server`).
    Tenant {
        #[command(subcommand)]
        command: tenants::TenantCommand,
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
    /// Rotate the master key: re-wrap every document key under a new one
    /// and destroy the old (docs/long-term.md, "Master key rotation").
    /// `--data`: the server stopped, run here to the end; `--server URL`:
    /// the running server rotates in the background (platform token in
    /// EVIDENCE_LEDGER_TOKEN), `--status` asks where it is.
    RotateMasterKey {
        /// Data directory of a stopped server.
        #[arg(long, required_unless_present = "server")]
        data: Option<PathBuf>,
        /// Base URL of the running server.
        #[arg(long, conflicts_with = "data")]
        server: Option<String>,
        /// The new key in a PKCS#11 token (`pkcs11:…;object=LABEL`);
        /// default: where the current key is.
        #[arg(long, conflicts_with = "status")]
        to: Option<String>,
        /// With --server: print the rotation's status, start nothing.
        #[arg(long, requires = "server")]
        status: bool,
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

fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Init { data, origin, store: url, log_key, master_key, suite } => store::init(
            &data,
            &origin,
            url.as_deref(),
            (log_key.as_deref(), master_key.as_deref()),
            &suite,
        ),
        Command::Migrate { data, store: url } => store::migrate(data.as_deref(), url.as_deref()),
        Command::Token { command } => tokens::token(command),
        Command::Issuer { command } => trust::issuer(command),
        Command::Serve {
            data,
            listen,
            allow_rollback,
            accept_v1_attestations,
            retention_sweep_secs,
            store: url,
            limits,
            pg,
            public_url,
            ers,
            suite,
        } => serve::check_suite(&data, suite.as_deref()).and_then(|()| {
            serve::serve(
                &data,
                listen,
                allow_rollback,
                accept_v1_attestations,
                retention_sweep_secs,
                url.as_deref(),
                &limits,
                &pg,
                public_url.as_deref(),
                ers,
            )
        }),
        Command::Witness { command } => anchoring::witness(command),
        Command::Tenant { command } => tenants::tenant(command),
        Command::Tiles { command } => store::tiles(command),
        Command::Tsa { command } => trust::tsa(command),
        Command::Ers { command } => ers::ers(command),
        Command::Anchor { command } => anchoring::anchor_cmd(command),
        Command::Status { data } => store::status(&data),
        Command::Audit { data } => crate::maint::audit(&data),
        Command::Backup { data, to } => crate::maint::backup(&data, &to),
        Command::RotateMasterKey { data, server, to, status } => match (data, server) {
            (_, Some(url)) => crate::remote::master_key(&url, to.as_deref(), status),
            (Some(data), None) => store::rotate_master_key(&data, to.as_deref()),
            (None, None) => Err("--data or --server is required".into()),
        },
        Command::Restore { from, data } => crate::maint::restore(&from, &data),
        Command::Demo(args) => crate::demo::run(args),
        Command::Load(args) => crate::load::run(args),
    }
}
