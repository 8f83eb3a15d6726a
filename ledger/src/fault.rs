//! Fault injection for the crash tests: [`point`] ends the process on the
//! spot (as a crash or SIGKILL would: no destructor runs, nothing more is
//! written) when the environment variable [`FAULT_ENV`] names that point.
//! Compiled in only with the `fault-injection` feature, which the
//! workspace's test builds turn on (a dev-dependency feature); in every
//! other build [`point`] does nothing and reads no environment.

/// The environment variable naming the point at which to crash.
pub const FAULT_ENV: &str = "EVIDENCE_LEDGER_FAULT";

/// Crashes the process here if [`FAULT_ENV`] is `name`.
#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    if std::env::var(FAULT_ENV).is_ok_and(|v| v == name) {
        eprintln!("fault injection: crashing at {name}");
        std::process::abort();
    }
}

/// Does nothing: fault injection is not compiled in.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
