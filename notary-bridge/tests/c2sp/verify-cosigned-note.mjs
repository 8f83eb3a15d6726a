// An outside C2SP client, written from the specs alone (it shares no code
// with the evidence ledger): verifies a checkpoint note's log signature and
// a witness's cosignature with Node's built-in Ed25519.
//
//   node verify-cosigned-note.mjs NOTE_FILE WITNESS_VKEY [LOG_VKEY]
//
// Specs: https://c2sp.org/signed-note (notes, signature lines, vkeys,
// key IDs), https://c2sp.org/tlog-cosignature (cosignature/v1: key type
// 0x04, timestamped_signature, signed message), https://c2sp.org/tlog-checkpoint.
// Prints {"witness", "timestamp", "log_signature"} as JSON and exits 0 when
// every check passes; prints the reason and exits 1 otherwise.
import { createHash, createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";

function fail(why) {
  console.error(`REJECTED: ${why}`);
  process.exit(1);
}

// signed-note "Verifier keys": <name>+<hex key id>+<base64(type || key)>.
function parseVkey(vkey, wantType) {
  // Names hold no "+", the ID is 8 hex digits; base64 may hold "+".
  const m = /^([^+\s]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (!m) fail(`vkey ${vkey}: not name+id+key`);
  const [, name, idHex, b64] = m;
  const raw = Buffer.from(b64, "base64");
  if (raw.length !== 33 || raw[0] !== wantType) fail(`vkey ${name}: want type ${wantType}, 32-byte key`);
  const pub = raw.subarray(1);
  // Key ID = SHA-256(name || "\n" || type || key)[:4].
  const id = createHash("sha256")
    .update(Buffer.concat([Buffer.from(name + "\n", "utf8"), Buffer.from([wantType]), pub]))
    .digest()
    .subarray(0, 4);
  if (id.toString("hex") !== idHex.toLowerCase()) fail(`vkey ${name}: key ID does not match the key`);
  // An Ed25519 SubjectPublicKeyInfo is a fixed 12-byte prefix and the key.
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), pub]);
  return { name, id, key: createPublicKey({ key: spki, format: "der", type: "spki" }) };
}

// signed-note: the text (ending in a newline), a blank line, then lines
// "— <name> <base64(key id || signature)>".
function parseNote(bytes) {
  const s = bytes.toString("utf8");
  const cut = s.lastIndexOf("\n\n");
  if (cut < 0) fail("note: no blank line before the signatures");
  const text = s.slice(0, cut + 1);
  const lines = s.slice(cut + 2).split("\n");
  if (lines.pop() !== "") fail("note: last signature line has no newline");
  const sigs = lines.map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) fail(`note: bad signature line ${JSON.stringify(line)}`);
    return { name: m[1], raw: Buffer.from(m[2], "base64") };
  });
  return { text, sigs };
}

const [noteFile, witnessVkey, logVkey] = process.argv.slice(2);
if (!noteFile || !witnessVkey) fail("usage: NOTE_FILE WITNESS_VKEY [LOG_VKEY]");
const note = parseNote(readFileSync(noteFile));
const mine = (k) => note.sigs.filter((s) => s.name === k.name && s.raw.subarray(0, 4).equals(k.id));

// tlog-checkpoint: origin, tree size (decimal, no leading zeros), root (base64, 32 bytes).
const body = note.text.split("\n");
if (body.length < 4 || !/^(0|[1-9][0-9]*)$/.test(body[1]) || Buffer.from(body[2], "base64").length !== 32) {
  fail("checkpoint body malformed");
}

let logSignature = "not checked";
if (logVkey) {
  const log = parseVkey(logVkey, 0x01);
  const found = mine(log);
  if (found.length === 0) fail(`no signature by the log key ${log.name}`);
  for (const s of found) {
    if (s.raw.length !== 68) fail("log signature: not key id + 64 bytes");
    if (!verify(null, Buffer.from(note.text, "utf8"), log.key, s.raw.subarray(4))) fail("log signature does not verify");
  }
  logSignature = "ok";
}

// tlog-cosignature: timestamped_signature = u64 big-endian timestamp || Ed25519 signature,
// over "cosignature/v1\ntime <timestamp>\n" || checkpoint body.
const witness = parseVkey(witnessVkey, 0x04);
const cosigs = mine(witness);
if (cosigs.length === 0) fail(`no cosignature by ${witness.name}`);
let timestamp;
for (const s of cosigs) {
  if (s.raw.length !== 4 + 8 + 64) fail("cosignature: not key id + 8-byte time + 64 bytes");
  const t = s.raw.readBigUInt64BE(4);
  if (t >= 2n ** 63n) fail("cosignature: timestamp beyond 2^63 - 1");
  const msg = Buffer.from(`cosignature/v1\ntime ${t}\n${note.text}`, "utf8");
  if (!verify(null, msg, witness.key, s.raw.subarray(12))) fail("cosignature does not verify");
  timestamp ??= t;
}
console.log(JSON.stringify({ witness: witness.name, timestamp: Number(timestamp), log_signature: logSignature }));
