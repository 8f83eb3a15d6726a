//! The ledger on PostgreSQL (docs/postgres.md), with real servers started
//! here: one sequencer at a time (a second ledger process waits as a
//! standby and takes over without forking), a primary with a synchronous
//! standby that loses the primary to SIGKILL and keeps every acknowledged
//! event, witnesses cosigning across both failovers; the schema's own
//! guards; init, migrate and the CLI on a PostgreSQL store.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::nodes::*;
use common::pg::PgServer;
use common::witness::*;
use common::*;
use evidence_ledger::flows::contract_flow;
use serde_json::json;
use verifier::note::NoteVerifier;

fn collect(clients: Vec<Acked>, into: &mut HashMap<String, (u64, String)>) {
    for c in clients {
        into.extend(c.join().unwrap());
    }
}

#[test]
fn failover_of_sequencer_and_database_keeps_every_receipt_and_the_witnesses() {
    let mut primary = PgServer::start_primary_sync();
    let standby = PgServer::start_standby(&primary);
    primary.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &primary.url("ledger")]);
    let data = s.data().to_str().unwrap().to_string();
    let vkey = cli(&["status", "--data", &data])
        .lines()
        .find_map(|l| l.strip_prefix("vkey: ").map(str::to_string))
        .unwrap();
    let log = NoteVerifier::from_vkey(&vkey).unwrap();
    let court = Witness::start("court", &vkey);
    cli(&["witness", "add", "--data", &data, "--vkey", &court.vkey, "--url", &court.url()]);
    cli(&["anchor", "policy", "--data", &data, "--interval", "1"]);
    s.spawn();
    let node2 = second_node(s.data());
    let mut acked = HashMap::new();

    // 1. A second ledger process on the same database waits as a standby.
    let mut standby_node = Node::spawn(node2.path(), &[]);
    submit_flow_at(&s.url, &s, "contract-1");
    assert!(
        standby_node.url.recv_timeout(Duration::from_secs(2)).is_err(),
        "a second sequencer served beside the first"
    );
    let pid = s.child.as_ref().unwrap().id();
    let holder = primary.psql("ledger", "SELECT holder FROM el_lease");
    assert!(holder.ends_with(&format!("pid {pid}")), "lease holder {holder:?}, first is {pid}");
    let issue = ["token", "issue", "--data", &data, "--tenant", TENANT, "--role", "legal"];
    let out = Command::new(BIN).args(issue).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("is the sequencer"), "{err}");

    // 2. The first sequencer dies under load: the standby takes over,
    // continues the same tree, and the witness cosigns its checkpoints.
    let clients = load_until_gone(&s, 4, "seq");
    std::thread::sleep(Duration::from_millis(700));
    let cosigned = wait_checkpoint(&s, "a cosigned checkpoint", |cp| cosigned_by(cp, &court));
    s.kill9();
    collect(clients, &mut acked);
    assert!(acked.len() > 20, "too little load: {}", acked.len());
    let url2 = standby_node.url.recv_timeout(Duration::from_secs(30)).expect("standby took over");
    assert_all_present_at(&url2, &acked);
    assert_extends(&url2, &log, &cosigned);
    submit_flow_at(&url2, &s, "contract-2");
    let size = checkpoint_at(&url2).checkpoint.size;
    let cp2 = wait_checkpoint_at(&url2, "the witness cosigning after the takeover", |cp| {
        cp.checkpoint.size >= size && cosigned_by(cp, &court)
    });

    // 3. The primary database dies under load (SIGKILL): the sequencer
    // loses its lease and exits; the synchronous standby is promoted and
    // a ledger pointed at it has every acknowledged event.
    let clients = load_until_gone_at(&url2, &s.tokens.submitter, &s.signers[0].issuer, 4, "db");
    std::thread::sleep(Duration::from_millis(1500));
    primary.kill9();
    collect(clients, &mut acked);
    let exited = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        standby_node.child.try_wait().unwrap()
    });
    assert_eq!(exited.and_then(|e| e.code()), Some(75), "the sequencer did not stop");
    standby.promote();
    s.spawn_with(&["--store", &standby.url("ledger")]);
    assert_all_present(&s, &acked);
    assert_extends(&s.url, &log, &cosigned);
    assert_extends(&s.url, &log, &cp2);
    let last = acked.values().map(|(i, _)| *i).max().unwrap();
    submit_flow_at(&s.url, &s, "contract-3");
    let size = s.tree_size_latest();
    assert!(size > last + 1, "size {size}, last acknowledged {last}");
    wait_checkpoint(&s, "the witness cosigning on the promoted standby", |cp| {
        cp.checkpoint.size >= size && cosigned_by(cp, &court)
    });
    standby_node.kill9();
}

#[test]
fn the_schema_refuses_to_alter_evidence_and_a_fenced_sequencer_cannot_commit() {
    let pg = PgServer::start_primary();
    pg.create_db("ledger");
    let url = pg.url("ledger");
    let mut s = Server::prepare_with(&["--store", &url]);
    s.spawn();
    submit_flow_at(&s.url, &s, "contract-1");
    // Leaves and stored hashes: no update, delete or truncate, by anyone.
    for sql in [
        "UPDATE el_leaves SET v = 'x'",
        "DELETE FROM el_leaves",
        "TRUNCATE el_leaves",
        "DELETE FROM el_hashes WHERE k = (SELECT k FROM el_hashes ORDER BY k LIMIT 1)",
    ] {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--", "psql", "-h", "127.0.0.1", "-p"])
            .arg(pg.port().to_string())
            .args(["-d", "ledger", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("append-only"), "{sql}: {err}");
    }
    // A sequencer whose epoch was taken over cannot commit any more. (Its
    // size is read first: once fenced, it may exit before another GET.)
    let before = s.tree_size();
    let epoch: i64 = pg.psql("ledger", "SELECT epoch FROM el_lease").parse().unwrap();
    pg.psql("ledger", "UPDATE el_lease SET epoch = epoch + 1, holder = 'usurper'");
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, "contract-2", b"x");
    let (status, body) = s.submit(&json!({"events": events}));
    assert!(status >= 500, "{status} {body}");
    assert_eq!(pg.psql("ledger", "SELECT epoch FROM el_lease"), (epoch + 1).to_string());
    let size: u64 = pg.psql("ledger", "SELECT count(*) FROM el_leaves").parse().unwrap();
    assert_eq!(size, before, "a fenced commit landed");
    // The deposed sequencer stops (to be restarted as a standby).
    let child = s.child.as_mut().unwrap();
    let exited = (0..50).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        child.try_wait().unwrap()
    });
    assert_eq!(exited.and_then(|e| e.code()), Some(75), "a fenced sequencer kept running");
}

#[test]
fn the_store_answers_repeated_keys_and_a_read_only_view_takes_no_write() {
    use ledger::store::{PrivateEntry, RecordFamily, Store, StoreConfig};
    let pg = PgServer::start_primary();
    pg.create_db("ledger");
    let url = pg.url("ledger");
    ledger::pg::migrate(&url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ttl = ledger::pglease::DEFAULT_LEASE_TTL;
    let lease = ledger::pglease::Lease::acquire(&url, "test", false, ttl, |_, _| {}).unwrap();
    let config = StoreConfig::Postgres { url: url.clone(), epoch: Some(lease.epoch()) };
    let store = Store::open_config(dir.path(), &config).unwrap();
    let (doc, idem) = ([9u8; 32], [1u8; 32]);
    let mut b = store.batch();
    let p = PrivateEntry {
        idem_id: &idem,
        doc_id: &doc,
        hash_id: None,
        subject_id: None,
        record: b"sealed",
        identity: None,
        chain: None,
    };
    b.put_private_entry(0, &p, &[7u8; 32]);
    store.write(b, true).unwrap();
    // One event id asked by two requests of one group: both see it.
    let found = store.idempotency_v2(&[idem, idem, [2u8; 32]]).unwrap();
    let found: Vec<Option<u64>> = found.into_iter().map(|r| r.map(|r| r.index)).collect();
    assert_eq!(found, vec![Some(0), Some(0), None]);
    // A view without the lease reads, and refuses to write.
    let view = Store::open_config(dir.path(), &StoreConfig::Postgres { url, epoch: None }).unwrap();
    assert_eq!(view.idempotency_v2(&[idem]).unwrap()[0].map(|r| r.index), Some(0));
    let err = view.put_record(RecordFamily::Aux, b"k", b"v").unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(view.get_record(RecordFamily::Aux, b"k").unwrap(), None);
}

/// A group's rows are one statement: a new entry's rows are plain
/// inserts, so a "new" key that exists fails the whole write and nothing
/// of it lands (not even its upserts); a batch that deletes some rows of
/// a table and inserts others into it, with upserts beside, lands whole.
#[test]
fn a_new_entrys_rows_are_inserted_never_overwritten_and_a_failed_group_writes_nothing() {
    use ledger::store::{PrivateEntry, Store, StoreConfig, TAG_RECORD};
    let pg = PgServer::start_primary();
    pg.create_db("ledger");
    let url = pg.url("ledger");
    ledger::pg::migrate(&url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ttl = ledger::pglease::DEFAULT_LEASE_TTL;
    let lease = ledger::pglease::Lease::acquire(&url, "test", false, ttl, |_, _| {}).unwrap();
    let config = StoreConfig::Postgres { url, epoch: Some(lease.epoch()) };
    let store = Store::open_config(dir.path(), &config).unwrap();
    let doc = [9u8; 32];
    let entry = |idem: &'static [u8; 32], record: &'static [u8]| PrivateEntry {
        idem_id: idem,
        doc_id: &doc,
        hash_id: None,
        subject_id: None,
        record,
        identity: None,
        chain: None,
    };
    let mut b = store.batch();
    b.put_private_entry(0, &entry(&[1u8; 32], b"first"), &[7u8; 32]);
    store.write(b, true).unwrap();
    // Index 0 again, with a chain head (an upsert) in the same batch.
    let mut b = store.batch();
    b.put_private_entry(0, &entry(&[2u8; 32], b"overwrite"), &[8u8; 32]);
    b.put_chain_head(&doc, &[5u8; 32], 1);
    let err = store.write(b, true).unwrap_err();
    assert!(err.to_string().contains("23505"), "a unique violation: {err}");
    assert_eq!(store.private(0, TAG_RECORD).unwrap().as_deref(), Some(&b"first"[..]));
    assert_eq!(store.chain_heads(&[doc]).unwrap(), vec![None], "an upsert of it landed");
    assert_eq!(store.idempotency_v2(&[[2u8; 32]]).unwrap()[0].map(|r| r.index), None);
    // Erase entry 0 (deletes its record, rewrites its index row) and add
    // entry 1 (inserts) with a chain head, in one batch: all of it lands.
    let mut b = store.batch();
    b.erase_entry(&doc, 0, None, None);
    b.put_private_entry(1, &entry(&[2u8; 32], b"second"), &[8u8; 32]);
    b.put_chain_head(&doc, &[5u8; 32], 2);
    store.write(b, true).unwrap();
    assert_eq!(store.private(0, TAG_RECORD).unwrap(), None);
    assert_eq!(store.private(1, TAG_RECORD).unwrap().as_deref(), Some(&b"second"[..]));
    assert_eq!(store.chain_heads(&[doc]).unwrap(), vec![Some(([5u8; 32], 2))]);
    let indexes: Vec<(u64, bool)> =
        store.doc_index(&doc).unwrap().iter().map(|e| (e.index, e.erased)).collect();
    assert_eq!(indexes, vec![(0, true), (1, false)]);
}

#[test]
fn init_migrate_and_operator_commands_on_postgres() {
    let pg = PgServer::start_primary();
    pg.create_db("ledger");
    let url = pg.url("ledger");
    // migrate before init, twice: the second is a no-op.
    let first = cli(&["migrate", "--store", &url]);
    assert!(first.contains("from version 0 to 2"), "{first}");
    assert!(cli(&["migrate", "--store", &url]).contains("up to date"));
    let s = Server::prepare_with(&["--store", &url]);
    let data = s.data().to_str().unwrap().to_string();
    // The URL is kept, 0600, for every later command.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(s.data().join("store")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert!(cli(&["migrate", "--data", &data]).contains("up to date"));
    // A second init on a database that holds a log is refused, and
    // creates no key.
    let other = tempfile::tempdir().unwrap();
    let d2 = other.path().join("d");
    let out = Command::new(BIN)
        .args(["init", "--data", d2.to_str().unwrap(), "--origin", "other/log", "--store", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds the log"));
    assert!(!d2.join("log.key").exists());
    // Status and audit read the PostgreSQL store.
    let mut s = s;
    s.spawn();
    submit_flow_at(&s.url, &s, "contract-1");
    let size = s.tree_size();
    let status = cli(&["status", "--data", &data]);
    assert!(status.contains(&format!("tree size: {size}")), "{status}");
    let audit = cli(&["audit", "--data", &data]);
    assert!(audit.contains("audit: clean"), "{audit}");
    // Backup is the database's job: refused with the way to do it.
    let out = Command::new(BIN)
        .args(["backup", "--data", &data, "--to", other.path().join("b").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_basebackup"));
    // Master key rotation runs on PostgreSQL too, here through the
    // running server (tests/master_key.rs follows it to its end).
    let out = Command::new(BIN)
        .args(["rotate-master-key", "--server", &s.url])
        .env(evidence_ledger::remote::TOKEN_ENV, &s.tokens.platform)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("epoch 1"));
    assert!(s.data().join("keys/master.1.key").exists());
    // A ledger key that is not the store's is refused.
    let wrong = tempfile::tempdir().unwrap();
    let w = wrong.path().join("w");
    cli(&["init", "--data", w.to_str().unwrap(), "--origin", "wrong/log"]);
    let out = Command::new(BIN).args(["status", "--data", w.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    std::fs::copy(s.data().join("store"), w.join("store")).unwrap();
    let out = Command::new(BIN).args(["status", "--data", w.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("holds the log of"), "{err}");
}

#[test]
fn status_pairs_its_tree_size_with_that_sizes_checkpoint_under_concurrent_appends() {
    let pg = PgServer::start_primary();
    pg.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &pg.url("ledger")]);
    s.spawn();
    let data = s.data().to_str().unwrap().to_string();
    let clients = load_until_gone(&s, 4, "snap");
    let mut sizes = std::collections::HashSet::new();
    for _ in 0..40 {
        // One snapshot: the size, root and checkpoint of one instant (a
        // status reading them apart failed its root check or printed
        // another size's checkpoint).
        let out = cli(&["status", "--data", &data]);
        let size: u64 = out
            .lines()
            .find_map(|l| l.strip_prefix("tree size: "))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        let note = out.split_once("checkpoint:\n").map(|(_, n)| n).unwrap_or_default();
        let cp: u64 = note.lines().nth(1).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
        assert_eq!(size, cp, "status paired size {size} with checkpoint {cp}:\n{out}");
        sizes.insert(size);
    }
    s.kill9();
    let mut acked = HashMap::new();
    collect(clients, &mut acked);
    assert!(sizes.len() > 1, "the log did not grow while status ran: {sizes:?}");
}

/// `openssl` in `dir`, panicking with its stderr on failure.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`{name}.pem`, `{name}.key`) made with openssl.
fn make_ca(dir: &std::path::Path, name: &str) {
    let (pem, key, subj) = (format!("{name}.pem"), format!("{name}.key"), format!("/CN={name}"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// `migrate --store URL`: (success, stderr).
fn migrate_at(url: &str) -> (bool, String) {
    let out = Command::new(BIN).args(["migrate", "--store", url]).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn tls_to_postgres_checks_the_server_as_sslmode_says_and_fails_closed() {
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    make_ca(dir, "ca");
    make_ca(dir, "other-ca");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let pg = PgServer::start_primary_tls(&read("server.crt"), &read("server.key"));
    pg.create_db("ledger");
    let (ca, other) = (dir.join("ca.pem"), dir.join("other-ca.pem"));
    let (ca, other) = (ca.to_str().unwrap(), other.to_str().unwrap());
    let base = pg.url("ledger");
    let full = format!("{base}?sslmode=verify-full&sslrootcert={ca}");

    // verify-full: the ledger works, and every session of it is encrypted.
    let mut s = Server::prepare_with(&["--store", &full]);
    s.spawn();
    submit_flow_at(&s.url, &s, "contract-1");
    let sessions = |ssl: &str| -> u64 {
        let sql = format!(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = 'ledger' AND a.pid <> pg_backend_pid() AND s.ssl = {ssl}"
        );
        pg.psql("ledger", &sql).parse().unwrap()
    };
    assert!(sessions("true") > 0);
    assert_eq!(sessions("false"), 0, "a plaintext session of the ledger");

    // Fails closed: a certificate from another CA, whatever the mode that
    // checks it; a name the certificate does not hold under verify-full.
    let port = pg.port();
    for url in [
        format!("{base}?sslmode=verify-full&sslrootcert={other}"),
        format!("{base}?sslmode=verify-ca&sslrootcert={other}"),
        format!("{base}?sslmode=require&sslrootcert={other}"),
        format!("postgres://postgres@localhost:{port}/ledger?sslmode=verify-full&sslrootcert={ca}"),
    ] {
        let (ok, err) = migrate_at(&url);
        assert!(!ok, "{url} connected");
        assert!(err.contains("certificate") || err.contains("Certificate"), "{url}: {err}");
    }
    // verify-ca checks the chain, not the name.
    let ca_only =
        format!("postgres://postgres@localhost:{port}/ledger?sslmode=verify-ca&sslrootcert={ca}");
    let (ok, err) = migrate_at(&ca_only);
    assert!(ok, "{err}");
    // require: a server without TLS is refused.
    let plain = PgServer::start_primary();
    plain.create_db("ledger");
    let (ok, err) = migrate_at(&format!("{}?sslmode=require", plain.url("ledger")));
    assert!(!ok, "require connected without TLS");
    assert!(err.to_lowercase().contains("tls") || err.contains("SSL"), "{err}");
}

#[test]
fn a_hung_database_holds_no_async_worker_for_the_public_reads() {
    let pg = PgServer::start_primary();
    pg.create_db("ledger");
    let mut s = Server::prepare_with(&["--store", &pg.url("ledger")]);
    s.spawn();
    submit_flow_at(&s.url, &s, "contract-1");
    // The leaves hang: a session holds them ACCESS EXCLUSIVE, so every
    // read of an entry waits in the database.
    let mut locker = Command::new("runuser")
        .args(["-u", "postgres", "--", "psql", "-h", "127.0.0.1", "-p"])
        .arg(pg.port().to_string())
        .args(["-d", "ledger", "-c"])
        .arg("BEGIN; LOCK TABLE el_leaves IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);")
        .env("PGAPPNAME", "locker")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let held = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                WHERE c.relname = 'el_leaves' AND l.mode = 'AccessExclusiveLock' AND l.granted";
    for _ in 0..100 {
        if pg.psql("ledger", held) == "1" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(pg.psql("ledger", held), "1", "the lock was not taken");
    // More hung reads than the server has async workers (one per core).
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let url = format!("{}/v1/entries/0", s.url);
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                    .unwrap();
                http.get(url).send().map(|r| r.status().as_u16()).unwrap_or(0)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    assert!(readers.iter().all(|r| !r.is_finished()), "a read did not wait for the database");
    let http =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(3)).build().unwrap();
    for path in ["/healthz", "/v1/log"] {
        let status = http.get(format!("{}{path}", s.url)).send().map(|r| r.status().as_u16());
        assert_eq!(status.ok(), Some(200), "{path} stalled behind reads of a hung database");
    }
    // The database answers again: the reads complete.
    pg.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'locker'",
    );
    let _ = locker.wait();
    for r in readers {
        assert_eq!(r.join().unwrap(), 200);
    }
}

#[test]
fn issuer_records_of_an_older_store_are_keyed_and_sealed_at_open_on_postgres() {
    let pg = PgServer::start_primary();
    pg.create_db("ledger");
    let url = pg.url("ledger");
    let mut s = Server::prepare_with(&["--store", &url]);
    // A tenant's signer as the code before stored it: clear JSON under
    // `name 0x00 tenant` (written here with psql, as that code wrote it).
    let mark = hex::encode(rand::random::<[u8; 6]>());
    let signer = evidence_ledger::flows::Signer::random(&format!("u-pgold-{mark}"), "赵*");
    let name = signer.issuer.name.clone();
    let record = json!({"name": name, "tenant": TENANT, "public_key": signer.issuer.public_key_b64(),
                        "added_at": "2026-01-02T03:04:05Z"});
    let key = hex::encode([name.as_bytes(), b"\0", TENANT.as_bytes()].concat());
    let value = hex::encode(serde_json::to_vec(&record).unwrap());
    pg.psql("ledger", &format!("INSERT INTO el_issuers (k, v) VALUES ('\\x{key}', '\\x{value}')"));
    let clear = |what: &str| {
        let h = hex::encode(what);
        let sql = format!(
            "SELECT count(*) FROM el_issuers WHERE position('\\x{h}'::bytea in k) > 0 \
             OR position('\\x{h}'::bytea in v) > 0"
        );
        pg.psql("ledger", &sql).trim().to_string()
    };
    assert_eq!(clear(&name), "1", "the scan finds the old record");

    // Served: the open moved it; the key is trusted for the tenant's events.
    s.spawn();
    let signers = vec![&s.signers[0], &signer];
    let events = contract_flow(&s.services, &signers, "contract-pg-old", b"contract-pg-old");
    let (status, body) = s.submit(&json!({"events": events}));
    assert_eq!(status, 200, "{body}");
    let (status, listed) = s.get("/v1/issuers", Some(&s.tokens.platform));
    assert_eq!(status, 200);
    assert!(listed.contains(&name), "{listed}");
    for what in [name.as_str(), &format!("u-pgold-{mark}"), "idp-gov", TENANT] {
        assert_eq!(clear(what), "0", "{what} in clear in el_issuers");
    }
    let legacy = pg.psql("ledger", "SELECT count(*) FROM el_issuers WHERE get_byte(k, 0) <> 1");
    assert_eq!(legacy.trim(), "0");
}
