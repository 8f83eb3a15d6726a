//! `evidence-ledger`: the operator CLI and the service.

/// jemalloc for the whole process: with its unprefixed symbols it also
/// serves RocksDB's C++ allocations, and its decay-based purging hands freed
/// memtable and block memory back to the OS, so RSS stays flat without
/// `MALLOC_ARENA_MAX`/`MALLOC_MMAP_THRESHOLD_` (docs/performance.md, Memory).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    evidence_ledger::cli::main()
}
