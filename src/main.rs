//! `evidence-ledger`: the operator CLI and the service.

fn main() -> std::process::ExitCode {
    evidence_ledger::cli::main()
}
