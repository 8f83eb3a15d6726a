//! Real PostgreSQL servers for integration tests: a throwaway cluster per
//! `PgServer`, in its own directory under /tmp, listening on 127.0.0.1 on a
//! free port, with trust authentication for every local and 127.0.0.1
//! connection (replication included).
//!
//! The tests run as root and `initdb` refuses root, so every PostgreSQL
//! binary runs as the `postgres` user through `runuser -u postgres --`, and
//! every directory the server writes to is owned by `postgres`. The binaries
//! come from the highest `/usr/lib/postgresql/<version>/bin`, or from
//! `pg_config --bindir` when there is none. Signals are sent with the `kill`
//! command, because the tests forbid unsafe code.
//!
//! Any step that fails panics with the command's stderr and the tail of the
//! server log.
#![allow(dead_code, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a server may take to start, promote or reach a state we poll for.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How long the processes of a killed server may take to go away.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two polls.
const POLL: Duration = Duration::from_millis(100);
/// Server log lines quoted in panic messages.
const TAIL: usize = 40;
/// The `application_name` of a standby, and the name a synchronous primary waits for.
const STANDBY_NAME: &str = "standby1";

/// `pg_hba.conf` of every server: trust for every local and 127.0.0.1
/// connection, replication included.
const PG_HBA: &str = "\
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
";

/// A running (or killed) PostgreSQL server in its own temporary directory.
/// Dropping it stops the server with `pg_ctl stop -m immediate` and removes
/// the directory.
pub struct PgServer {
    /// The temporary directory holding `data`, `sock` and `server.log`; owned by `postgres`.
    dir: tempfile::TempDir,
    /// The directory of the PostgreSQL binaries.
    bin: PathBuf,
    /// The data directory (mode 0700).
    data: PathBuf,
    /// The directory of the server's unix sockets.
    sock: PathBuf,
    /// The server log that `pg_ctl -l` writes.
    log: PathBuf,
    /// The TCP port on 127.0.0.1.
    port: u16,
    /// The postmaster's pid once the server has started.
    pid: Option<u32>,
    /// Whether a server may be running on `data` (set before `pg_ctl start`,
    /// cleared by `kill9`): `Drop` stops it.
    running: bool,
    /// Whether `kill9` killed the server: `Drop` removes the System V shared
    /// memory segment that a killed postmaster leaves behind.
    killed: bool,
}

impl PgServer {
    /// Starts a primary: `initdb`, the common configuration (see
    /// [`PgServer::start_primary_sync`] for the synchronous variant), then
    /// `pg_ctl start` on 127.0.0.1 on a free port with its unix sockets in its
    /// own directory. Returns once `pg_isready` reports that the server
    /// accepts connections (60 s at most).
    pub fn start_primary() -> PgServer {
        let mut s = PgServer::init();
        s.start();
        s
    }

    /// Starts a primary whose commits wait for a synchronous standby named
    /// `standby1` (`synchronous_standby_names = 'standby1'`,
    /// `synchronous_commit = on`), and which can serve standbys
    /// (`wal_level = replica`, `max_wal_senders = 10`). Until
    /// [`PgServer::start_standby`] has attached a standby, every committing
    /// statement on it (`create_db` included) blocks.
    pub fn start_primary_sync() -> PgServer {
        let mut s = PgServer::init();
        s.append_conf(
            "postgresql.conf",
            &format!("synchronous_standby_names = '{STANDBY_NAME}'\n"),
        );
        s.start();
        s
    }

    /// Starts a primary with TLS on (`ssl = on`), presenting `cert_pem`
    /// (its chain) with the private key `key_pem` (0600, as the server
    /// demands). Plain connections are still accepted (`host` in pg_hba).
    pub fn start_primary_tls(cert_pem: &[u8], key_pem: &[u8]) -> PgServer {
        let mut s = PgServer::init();
        let (uid, gid) = postgres_ids();
        for (name, bytes, mode) in [("server.crt", cert_pem, 0o644), ("server.key", key_pem, 0o600)]
        {
            let path = s.data.join(name);
            fs::write(&path, bytes).expect("write a TLS file");
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
            chown(&path, Some(uid), Some(gid)).expect("chown postgres");
        }
        s.append_conf(
            "postgresql.conf",
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
        );
        s.start();
        s
    }

    /// Starts a streaming standby of `primary` named `standby1`: a
    /// `pg_basebackup -R -X stream` of the primary, configured (in its
    /// `postgresql.auto.conf`, which overrides `postgresql.conf`) with its own
    /// free port and socket directory, `primary_conninfo` with
    /// `application_name=standby1`, and an empty `synchronous_standby_names`
    /// so that it does not wait for a standby itself once promoted. Returns
    /// once `pg_isready` reports that the standby accepts connections and the
    /// primary's `pg_stat_replication` shows `standby1` with `sync_state`
    /// `sync` (or, when the primary has no `synchronous_standby_names`, as
    /// `streaming`); 60 s at most for each.
    pub fn start_standby(primary: &PgServer) -> PgServer {
        let mut s = PgServer::create_dirs();
        let port = primary.port.to_string();
        let data = path_str(&s.data).to_owned();
        let mut cmd = s.pg("pg_basebackup");
        cmd.args(["-R", "-D", &data, "-h", "127.0.0.1", "-p", &port, "-U", "postgres"]);
        cmd.args(["-X", "stream", "-c", "fast", "--no-password"]);
        let out = cmd.output().expect("run pg_basebackup");
        if !out.status.success() {
            panic!(
                "pg_basebackup from port {port} failed: {}\nprimary log:\n{}",
                describe(&out),
                primary.log_tail(TAIL)
            );
        }
        s.append_conf(
            "postgresql.auto.conf",
            &format!(
                "\n# standby settings written by tests/common/pg.rs\n\
                 port = {}\n\
                 unix_socket_directories = '{}'\n\
                 synchronous_standby_names = ''\n\
                 primary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name={STANDBY_NAME}'\n",
                s.port,
                path_str(&s.sock),
                primary.port
            ),
        );
        s.start();
        let sync = !primary.psql("postgres", "SHOW synchronous_standby_names").is_empty();
        let (sql, want) = if sync {
            (
                format!(
                    "SELECT sync_state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'"
                ),
                "sync",
            )
        } else {
            (
                format!("SELECT state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'"),
                "streaming",
            )
        };
        primary.wait_for(&format!("the primary to see {STANDBY_NAME} as {want}"), TIMEOUT, || {
            let got = primary.try_psql("postgres", &sql)?;
            if got.lines().any(|l| l == want) {
                Ok(())
            } else {
                Err(format!("pg_stat_replication says {got:?}\nstandby log:\n{}", s.log_tail(TAIL)))
            }
        });
        s
    }

    /// The TCP port the server listens on at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection URL of database `db` as user `postgres`:
    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` (`CREATE DATABASE`, run from database `postgres`).
    pub fn create_db(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")));
    }

    /// Runs one SQL statement in database `db` with `psql -X -q -At -v
    /// ON_ERROR_STOP=1` (as `postgres`, over TCP) and returns its trimmed
    /// stdout: the rows, one per line, columns separated by `|`, without
    /// command tags such as `INSERT 0 1`. Panics with psql's stderr when the
    /// statement fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql).unwrap_or_else(|e| {
            panic!(
                "psql on port {} failed: {sql}\n{e}\nserver log:\n{}",
                self.port,
                self.log_tail(TAIL)
            )
        })
    }

    /// Stops every process of the server (postmaster and backends) with
    /// SIGSTOP: a hung database, whose open connections stay open and
    /// answer nothing. The returned guard resumes them (SIGCONT) when
    /// dropped.
    pub fn pause(&self) -> Paused {
        let pids = processes_in(&self.data);
        assert!(!pids.is_empty(), "no process of the server to stop");
        signal_all(&pids, "-STOP");
        Paused { pids }
    }

    /// Kills the postmaster with SIGKILL (its pid is the first line of
    /// `postmaster.pid`), then waits until its port refuses connections and
    /// the postmaster is gone (10 s at most for each). Backends and auxiliary
    /// processes exit on their own once they notice the postmaster's death;
    /// it waits up to 10 s for that, then SIGKILLs any still running (a
    /// backend busy in a long query only notices when the query ends). The
    /// data directory is left as a crash leaves it.
    pub fn kill9(&mut self) {
        assert!(self.running, "kill9: the server on port {} is not running", self.port);
        let text =
            fs::read_to_string(self.data.join("postmaster.pid")).expect("read postmaster.pid");
        let pid: u32 = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("postmaster.pid starts with the postmaster's pid");
        let out =
            Command::new("kill").args(["-KILL", &pid.to_string()]).output().expect("run kill");
        assert!(out.status.success(), "kill -KILL {pid} failed: {}", describe(&out));
        self.running = false;
        self.killed = true;
        self.pid = None;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        self.wait_for("the killed server's port to refuse connections", KILL_TIMEOUT, || {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(_) => Err(format!("127.0.0.1:{} still accepts connections", self.port)),
                Err(_) => Ok(()),
            }
        });
        self.wait_for("the killed postmaster to exit", KILL_TIMEOUT, || {
            if alive(pid) {
                Err(format!("postmaster {pid} is alive"))
            } else {
                Ok(())
            }
        });
        let data = fs::canonicalize(&self.data).expect("canonicalize the data directory");
        let start = Instant::now();
        while start.elapsed() < KILL_TIMEOUT && !processes_in(&data).is_empty() {
            sleep(POLL);
        }
        kill_all(&processes_in(&data));
        self.wait_for(
            "the killed server's processes to exit",
            KILL_TIMEOUT,
            || match processes_in(&data) {
                left if left.is_empty() => Ok(()),
                left => Err(format!("still alive after SIGKILL: {left:?}")),
            },
        );
    }

    /// Stops the server with `pg_ctl stop -m fast` (a standby: its primary's
    /// synchronous commits then wait for it).
    pub fn stop(&mut self) {
        let mut cmd = self.pg("pg_ctl");
        cmd.args(["stop", "-m", "fast", "-w", "-t", "60", "-D", path_str(&self.data)]);
        self.run(cmd, "pg_ctl stop");
        self.running = false;
        self.pid = None;
    }

    /// Starts a server stopped by [`PgServer::stop`] again (a standby
    /// reconnects to its primary and catches up).
    pub fn start_again(&mut self) {
        assert!(!self.running, "start_again: the server on port {} runs", self.port);
        self.start();
    }

    /// The pids of the backends waiting for the synchronous standby in
    /// their `COMMIT` (`wait_event = 'SyncRep'`).
    pub fn syncrep_waiters(&self) -> Vec<u32> {
        let sql = "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'";
        self.psql("postgres", sql).lines().filter_map(|l| l.trim().parse().ok()).collect()
    }

    /// Waits until this primary sees `standby1` as its synchronous standby
    /// (after [`PgServer::start_again`] of the standby), 60 s at most.
    pub fn wait_for_sync_standby(&self) {
        let sql = format!(
            "SELECT sync_state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'"
        );
        self.wait_for("the standby to be synchronous again", TIMEOUT, || {
            let got = self.try_psql("postgres", &sql)?;
            if got.lines().any(|l| l == "sync") {
                Ok(())
            } else {
                Err(format!("pg_stat_replication says {got:?}"))
            }
        });
    }

    /// Promotes a standby with `pg_ctl promote -w` and returns once
    /// `SELECT pg_is_in_recovery()` says `f` (60 s at most).
    pub fn promote(&self) {
        let mut cmd = self.pg("pg_ctl");
        cmd.args(["promote", "-w", "-t", "60", "-D", path_str(&self.data)]);
        self.run(cmd, "pg_ctl promote");
        self.wait_for("the promoted server to leave recovery", TIMEOUT, || {
            match self.try_psql("postgres", "SELECT pg_is_in_recovery()")?.as_str() {
                "f" => Ok(()),
                other => Err(format!("pg_is_in_recovery() = {other:?}")),
            }
        });
    }

    /// The last `lines` lines of the server log (`pg_ctl -l`), or a note
    /// saying why it cannot be read.
    pub fn log_tail(&self, lines: usize) -> String {
        match fs::read(&self.log) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(lines)..].join("\n")
            }
            Err(e) => format!("(no server log at {}: {e})", self.log.display()),
        }
    }

    // ---- setup ------------------------------------------------------------

    /// The directories and a free port, no cluster yet.
    fn create_dirs() -> PgServer {
        let dir = tempfile::Builder::new()
            .prefix("pgtest-")
            .tempdir_in("/tmp")
            .expect("create a temporary directory under /tmp");
        own_dir(dir.path(), 0o755);
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        fs::create_dir(&data).expect("create the data directory");
        own_dir(&data, 0o700);
        fs::create_dir(&sock).expect("create the socket directory");
        own_dir(&sock, 0o755);
        let log = dir.path().join("server.log");
        PgServer {
            dir,
            bin: bin_dir().to_path_buf(),
            data,
            sock,
            log,
            port: free_port(),
            pid: None,
            running: false,
            killed: false,
        }
    }

    /// `initdb` plus the configuration every primary gets.
    fn init() -> PgServer {
        let s = PgServer::create_dirs();
        let mut cmd = s.pg("initdb");
        cmd.args(["-D", path_str(&s.data), "-U", "postgres", "-A", "trust"]);
        cmd.args(["-E", "UTF8", "--locale=C", "--no-instructions"]);
        s.run(cmd, "initdb");
        fs::write(s.data.join("pg_hba.conf"), PG_HBA).expect("write pg_hba.conf");
        s.append_conf(
            "postgresql.conf",
            &format!(
                "\n# settings written by tests/common/pg.rs\n\
                 listen_addresses = '127.0.0.1'\n\
                 port = {}\n\
                 unix_socket_directories = '{}'\n\
                 max_connections = 100\n\
                 shared_buffers = 256MB\n\
                 fsync = on\n\
                 synchronous_commit = on\n\
                 wal_level = replica\n\
                 max_wal_senders = 10\n\
                 wal_keep_size = '256MB'\n\
                 log_min_messages = warning\n",
                s.port,
                path_str(&s.sock)
            ),
        );
        s
    }

    /// `pg_ctl start -w`, then waits for `pg_isready` and records the postmaster's pid.
    fn start(&mut self) {
        self.running = true;
        let mut cmd = self.pg("pg_ctl");
        cmd.args(["-D", path_str(&self.data), "-l", path_str(&self.log)]);
        cmd.args(["-w", "-t", "60", "start"]);
        self.run(cmd, "pg_ctl start");
        let port = self.port.to_string();
        self.wait_for("pg_isready", TIMEOUT, || {
            let mut cmd = self.pg("pg_isready");
            cmd.args(["-h", "127.0.0.1", "-p", &port]);
            cmd.args(["-U", "postgres", "-d", "postgres", "-t", "5"]);
            let out = cmd.output().map_err(|e| format!("run pg_isready: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(describe(&out))
            }
        });
        let text =
            fs::read_to_string(self.data.join("postmaster.pid")).expect("read postmaster.pid");
        self.pid = text.lines().next().and_then(|l| l.trim().parse().ok());
    }

    // ---- helpers ----------------------------------------------------------

    /// `runuser -u postgres -- BIN/<program>`, run in the temporary directory
    /// with no `PG*` variables in its environment.
    fn pg(&self, program: &str) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(self.bin.join(program)).current_dir(self.dir.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// Runs `cmd` and panics with its output and the log tail unless it succeeds.
    fn run(&self, mut cmd: Command, what: &str) -> Output {
        let out = cmd.output().unwrap_or_else(|e| panic!("run {what}: {e}"));
        if !out.status.success() {
            panic!("{what} failed: {}\nserver log:\n{}", describe(&out), self.log_tail(TAIL));
        }
        out
    }

    /// Like [`PgServer::psql`], but returns psql's stderr instead of panicking.
    fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let port = self.port.to_string();
        let mut cmd = self.pg("psql");
        cmd.args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "--no-password"]);
        cmd.args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", db, "-c", sql]);
        let out = cmd.output().map_err(|e| format!("run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(describe(&out))
        }
    }

    /// Polls `check` until it succeeds; after `timeout`, panics with its last
    /// error and the log tail.
    fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Result<(), String>,
    ) {
        let start = Instant::now();
        loop {
            match check() {
                Ok(()) => return,
                Err(e) if start.elapsed() >= timeout => panic!(
                    "timed out after {timeout:?} waiting for {what} (port {}): {e}\nserver log:\n{}",
                    self.port,
                    self.log_tail(TAIL)
                ),
                Err(_) => sleep(POLL),
            }
        }
    }

    /// Appends `text` to a file of the data directory (which keeps its owner).
    fn append_conf(&self, file: &str, text: &str) {
        let path = self.data.join(file);
        let mut f = OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        f.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
    }

    /// Removes the System V shared memory segment named on line 7 of
    /// `postmaster.pid` (`key id`), which a killed postmaster leaves behind.
    fn remove_shm(&self) {
        let Ok(text) = fs::read_to_string(self.data.join("postmaster.pid")) else { return };
        let Some(id) = text.lines().nth(6).and_then(|l| l.split_whitespace().nth(1)) else {
            return;
        };
        let _ = Command::new("ipcrm").args(["-m", id]).output();
    }
}

impl Drop for PgServer {
    /// Stops a running server with `pg_ctl stop -m immediate` (errors
    /// ignored), SIGKILLs any process still working in the data directory,
    /// and removes the shared memory segment a killed server leaves behind;
    /// the temporary directory is removed afterwards.
    fn drop(&mut self) {
        if self.running {
            let mut cmd = self.pg("pg_ctl");
            cmd.args(["stop", "-m", "immediate", "-w", "-t", "60", "-D", path_str(&self.data)]);
            let _ = cmd.output();
        }
        // Whatever still runs in the data directory (after a failed stop, or
        // a panic inside kill9) must not outlive it.
        if let Ok(data) = fs::canonicalize(&self.data) {
            let start = Instant::now();
            loop {
                let left = processes_in(&data);
                if left.is_empty() || start.elapsed() > KILL_TIMEOUT {
                    break;
                }
                kill_all(&left);
                sleep(POLL);
            }
        }
        if self.killed {
            self.remove_shm();
        }
    }
}

/// The uid and gid of the `postgres` user (`id -u postgres`, `id -g postgres`).
fn postgres_ids() -> (u32, u32) {
    static IDS: OnceLock<(u32, u32)> = OnceLock::new();
    *IDS.get_or_init(|| {
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, "postgres"]).output().expect("run id");
            assert!(out.status.success(), "id {flag} postgres failed: {}", describe(&out));
            String::from_utf8_lossy(&out.stdout).trim().parse().expect("id prints a number")
        };
        (id("-u"), id("-g"))
    })
}

/// The PostgreSQL binaries: the highest `/usr/lib/postgresql/<version>/bin`
/// that has `pg_ctl`, else `pg_config --bindir`.
fn bin_dir() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let highest = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version: f64 = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("pg_ctl").is_file().then_some((version, bin))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, bin)) = highest {
            return bin;
        }
        let out = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .expect("find PostgreSQL: no /usr/lib/postgresql/*/bin and no pg_config");
        assert!(out.status.success(), "pg_config --bindir failed: {}", describe(&out));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// Gives a directory to `postgres` with mode `mode`.
fn own_dir(path: &Path, mode: u32) {
    let (uid, gid) = postgres_ids();
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
    chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown postgres {}: {e}", path.display()));
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address of the listener").port()
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may contain spaces.
        Ok(stat) => {
            stat.rsplit_once(')').is_none_or(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
        }
        Err(_) => false,
    }
}

/// The live processes of `postgres` whose working directory is `dir` (a
/// PostgreSQL server's processes all work in its data directory).
fn processes_in(dir: &Path) -> Vec<u32> {
    let (uid, _) = postgres_ids();
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == uid))
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir))
        .filter(|&pid| alive(pid))
        .collect()
}

/// Processes stopped by [`PgServer::pause`]; dropping it resumes them.
pub struct Paused {
    pids: Vec<u32>,
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal_all(&self.pids, "-CONT");
    }
}

/// Sends `signal` to `pids` with the `kill` command (errors ignored).
fn signal_all(pids: &[u32], signal: &str) {
    let _ = Command::new("kill").arg(signal).args(pids.iter().map(u32::to_string)).output();
}

/// Sends SIGKILL to `pids` with the `kill` command (errors ignored: a
/// process may exit first).
fn kill_all(pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill").arg("-KILL").args(pids.iter().map(u32::to_string)).output();
}

/// A path as UTF-8 (the temporary directories under /tmp always are).
fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A command's exit status, stderr and stdout, for panic messages.
fn describe(out: &Output) -> String {
    format!(
        "{}\nstderr:\n{}\nstdout:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim_end(),
        String::from_utf8_lossy(&out.stdout).trim_end()
    )
}
