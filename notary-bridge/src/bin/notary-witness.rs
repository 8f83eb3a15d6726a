//! `notary-witness`: the tlog witness a notary office or court runs.
//!
//! ```text
//! notary-witness init    --data DIR --name NAME       # new key; prints the vkey
//! notary-witness log add --data DIR --vkey VKEY [--origin ORIGIN]  # trust a log
//! notary-witness log add-key --data DIR --origin ORIGIN --vkey VKEY # one more key (rotation)
//! notary-witness serve   --data DIR --listen ADDR [--tls-cert PEM --tls-key PEM]
//!                                                     # prints "listening on <addr>"
//! notary-witness status  --data DIR
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use notary_bridge::signer::{WitnessKey, WitnessSigner};
use notary_bridge::{server, state, store, tls, BridgeError, Witness};

#[derive(Parser)]
#[command(name = "notary-witness", about = "C2SP tlog-witness for the evidence ledger")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data directory and the Ed25519 cosigning key; print the vkey.
    Init {
        #[arg(long)]
        data: PathBuf,
        /// The witness's key name, e.g. notary.example/witness1.
        #[arg(long)]
        name: String,
        /// The cosigning key in a PKCS#11 token, as an RFC 7512 URI
        /// (`pkcs11:token=…;object=…?module-path=…&pin-source=…`; the PIN
        /// from pin-source, pin-value or EVIDENCE_LEDGER_PKCS11_PIN): the
        /// Ed25519 pair of that name, generated there when missing.
        /// DIR/witness.pkcs11 records the URI (no PIN); no witness.key is made.
        #[arg(long, value_name = "PKCS11_URI")]
        key: Option<String>,
        /// The suite of the logs this witness cosigns: `ed25519-sha256`
        /// (the default) or `sm2-sm3` (an SM2 key in DIR/witness-sm2.key,
        /// SM2 cosignatures; docs/witness-protocol.md).
        #[arg(long, default_value = "ed25519-sha256")]
        suite: String,
    },
    /// Manage trusted logs.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Serve add-checkpoint until SIGINT or SIGTERM.
    Serve {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: String,
        /// Serve HTTPS with this PEM certificate chain (leaf first).
        #[arg(long = "tls-cert", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long = "tls-key", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Print the witness's vkey and each log's state.
    Status {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Trust a log by its vkey; its origin is --origin, or the key name.
    Add {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        vkey: String,
        /// The checkpoints' origin line, when it differs from the key name.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Trust one more key for a log (key rotation). The witness must be stopped.
    AddKey {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        origin: String,
        #[arg(long)]
        vkey: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Init { data, name, key, suite } => init(&data, &name, key.as_deref(), &suite),
        Command::Log { command: LogCommand::Add { data, vkey, origin } } => {
            state::add_log_as(&data, &vkey, origin.as_deref())
                .map(|origin| println!("added log {origin}"))
        }
        Command::Log { command: LogCommand::AddKey { data, origin, vkey } } => {
            state::add_log_key(&data, &origin, &vkey)
                .map(|()| println!("log {origin} now also trusts {vkey}"))
        }
        Command::Serve { data, listen, tls_cert, tls_key } => {
            serve(&data, &listen, tls_cert.as_deref().zip(tls_key.as_deref()))
        }
        Command::Status { data } => status(&data),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("notary-witness: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init(data: &Path, name: &str, uri: Option<&str>, suite: &str) -> Result<(), BridgeError> {
    // Validate the name, suite and URI before anything touches the disk.
    if !verifier::note::is_valid_key_name(name) {
        return Err(BridgeError::Config(format!("name: {name:?} is not a valid key name")));
    }
    let suite = verifier::suite::Suite::parse(suite)
        .map_err(|e| BridgeError::Config(format!("--suite: {e}")))?;
    let key = match (uri, suite) {
        (Some(_), verifier::suite::Suite::Sm2Sm3) => {
            return Err(BridgeError::Config(
                "--suite sm2-sm3 keeps its SM2 key in DIR/witness-sm2.key; a PKCS#11 key \
                 (--key) is Ed25519 only"
                    .into(),
            ))
        }
        (None, verifier::suite::Suite::Sm2Sm3) => store::init_sm2(data, name)?,
        (Some(u), _) => {
            let uri = pkcs11_keys::Pkcs11Uri::parse(u)
                .map_err(|e| BridgeError::Config(format!("--key: {e}")))?;
            store::init_token(data, name, &uri)?
        }
        (None, _) => {
            let key = SigningKey::generate(&mut rand_core::OsRng);
            store::init(data, name, &key)?;
            WitnessKey::File(Box::new(key))
        }
    };
    println!("{}", WitnessSigner::new(name, key)?.vkey());
    Ok(())
}

/// Reads the state without the lock, so it works beside a running witness.
fn status(data: &Path) -> Result<(), BridgeError> {
    let (name, key) = store::load_identity(data)?;
    let signer = WitnessSigner::new(&name, key)?;
    println!("witness {name}\nvkey {}", signer.vkey());
    for log in store::load_logs(data)? {
        let frozen = log
            .frozen
            .map(|f| format!(" FROZEN: {} ({})", f.reason, f.evidence))
            .unwrap_or_default();
        println!("log {} size {}{frozen}", log.origin, log.size);
    }
    Ok(())
}

fn serve(data: &Path, listen: &str, tls: Option<(&Path, &Path)>) -> Result<(), BridgeError> {
    let witness = Arc::new(Witness::open(data)?);
    let tls = match tls {
        None => None,
        Some((cert, key)) => Some(tokio_rustls::TlsAcceptor::from(tls::server_config(cert, key)?)),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| BridgeError::Config(format!("runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| BridgeError::Config(format!("{listen}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| BridgeError::Config(e.to_string()))?;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        tracing::info!(%addr, witness = witness.name(), scheme, "serving");
        server::run_tls(listener, witness, tls, shutdown_signal()).await;
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
