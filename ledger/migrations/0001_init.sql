-- Evidence ledger on PostgreSQL, schema version 1 (docs/postgres.md).
--
-- One table per family of the RocksDB store (ledger/src/store.rs), with
-- the same keys and values: keys are the store's byte layouts (integers
-- big-endian), so bytea order is the store's key order and a prefix scan
-- is a range scan of the primary key. Values are opaque to SQL: leaves
-- are canonical JSON, records are AES-256-GCM ciphertext under their
-- document's key, index keys are keyed hashes (no tenant, contract,
-- actor or document hash appears in any key).

CREATE TABLE el_leaves   (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_hashes   (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_idem     (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_docs     (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_dochash  (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_meta     (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_issuers  (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_tokens   (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_aux      (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_tsas     (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_records  (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_dockeys  (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_erased   (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_docidx   (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_hashidx  (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE el_subjidx  (k bytea PRIMARY KEY, v bytea NOT NULL);

-- Ciphertext, stored hashes and leaves do not compress; keep them inline
-- without trying.
ALTER TABLE el_records ALTER COLUMN v SET STORAGE EXTERNAL;
ALTER TABLE el_hashes  ALTER COLUMN v SET STORAGE PLAIN;

-- Acknowledged evidence is never altered or lost: the database itself
-- refuses to update, delete or truncate a leaf or a stored hash, whoever
-- asks (the ledger only ever inserts them).
CREATE FUNCTION el_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence-ledger: % is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER el_leaves_append_only BEFORE UPDATE OR DELETE ON el_leaves
    FOR EACH ROW EXECUTE FUNCTION el_append_only();
CREATE TRIGGER el_leaves_no_truncate BEFORE TRUNCATE ON el_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION el_append_only();
CREATE TRIGGER el_hashes_append_only BEFORE UPDATE OR DELETE ON el_hashes
    FOR EACH ROW EXECUTE FUNCTION el_append_only();
CREATE TRIGGER el_hashes_no_truncate BEFORE TRUNCATE ON el_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION el_append_only();

-- The sequencer lease (one sequencer at a time). The process holding the
-- session advisory lock is the sequencer; on taking it, it increments
-- `epoch`. Every write transaction first reads `epoch` FOR SHARE and
-- aborts unless it is the writer's own: a sequencer that lost the lock
-- can no longer commit once a successor took over (the successor's
-- increment waits for its in-flight transactions).
CREATE TABLE el_lease (
    id     int PRIMARY KEY CHECK (id = 1),
    epoch  bigint NOT NULL,
    holder text NOT NULL,
    since  timestamptz NOT NULL
);
INSERT INTO el_lease VALUES (1, 0, '', now());
