//! `notary-witness`: the tlog witness a notary office or court runs.
//!
//! ```text
//! notary-witness init    --data DIR --name NAME       # new key; prints the vkey
//! notary-witness log add --data DIR --vkey VKEY       # trust a log (origin = key name)
//! notary-witness serve   --data DIR --listen ADDR     # prints "listening on <addr>"
//! notary-witness status  --data DIR
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use notary_bridge::{server, state, store, BridgeError, Witness};
use verifier::cosignature::CosignatureSigner;

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
    },
    /// Print the witness's vkey and each log's state.
    Status {
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Trust a log by its vkey; its key name is its origin.
    Add {
        #[arg(long)]
        data: PathBuf,
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
        Command::Init { data, name } => init(&data, &name),
        Command::Log { command: LogCommand::Add { data, vkey } } => {
            state::add_log(&data, &vkey).map(|origin| println!("added log {origin}"))
        }
        Command::Serve { data, listen } => serve(&data, &listen),
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

fn init(data: &Path, name: &str) -> Result<(), BridgeError> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    // Validate the name before anything touches the disk.
    let signer = CosignatureSigner::new(name, key.clone())
        .map_err(|e| BridgeError::Config(format!("name: {e}")))?;
    store::init(data, name, &key)?;
    println!("{}", signer.vkey());
    Ok(())
}

fn status(data: &Path) -> Result<(), BridgeError> {
    let witness = Witness::open(data)?;
    println!("witness {}\nvkey {}", witness.name(), witness.vkey());
    for log in witness.records()? {
        let frozen = log
            .frozen
            .map(|f| format!(" FROZEN: {} ({})", f.reason, f.evidence))
            .unwrap_or_default();
        println!("log {} size {}{frozen}", log.origin, log.size);
    }
    Ok(())
}

fn serve(data: &Path, listen: &str) -> Result<(), BridgeError> {
    let witness = Arc::new(Witness::open(data)?);
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| BridgeError::Config(format!("runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| BridgeError::Config(format!("{listen}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| BridgeError::Config(e.to_string()))?;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        tracing::info!(%addr, witness = witness.name(), "serving");
        server::run(listener, witness, shutdown_signal()).await;
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
