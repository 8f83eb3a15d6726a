// The evidence-bundle verifier in JavaScript: a second, independent
// implementation of docs/bundle-format.md (the Rust one is verifier/src).
// Pure: no DOM, no network. Works in a browser and in Node 20 (WebCrypto).
//
// Checks (same ids, order and meaning as the Rust verifier): bundle_format,
// same_document, document_hash (when a file is given), log_signature,
// cosignature (one per witness that countersigned or is required),
// inclusion and attestations (one per entry), timeline. Each check carries
// its title and detail as message descriptors {k, a}: i18n.js words them.
//
// Specs: RFC 9162 §2.1 (Merkle tree, §2.1.3.2 inclusion, §2.1.4.2
// consistency), C2SP signed-note, tlog-checkpoint, tlog-cosignature (v1),
// RFC 8785 (JCS), RFC 8032 (Ed25519, checked strictly: canonical S, no
// small-order keys or R, as ed25519-dalek's verify_strict), RFC 3161
// (event_timestamp, event_content_timestamp, checkpoint_timestamp).
//
// This file is the facade: the rules live in verifier/*.js, one module per
// module of the Rust verifier and named after it (verifier/hash.js is the
// twin of verifier/src/hash.rs, verifier/bundle/decode.js of
// verifier/src/bundle/decode.rs, ...), so that a rule and its twin are one
// diff apart. Beside them: error.js (error.rs), std.js and ed25519.js (what
// Rust's std and ed25519-dalek give the Rust verifier), tsa.js with
// tsa/*.js (RFC 3161 tokens, by the Rust verifier's rules, reading CMS and
// X.509 with PKI.js and asn1js from ../vendor/pki.js), and what the page does online with no twin in the
// verifier crate: consistency.js (log_consistency) and lookup.js
// (GET /v1/lookup answers). The sm2-sm3 suite (docs/formats.md §13):
// sm.js (SM3 trees, SM2 over sm-crypto from ../vendor/sm-crypto.js),
// sm2note.js (SM2 signed notes, twin of sm2note.rs) and anykey.js (keys
// of either suite, anykey.rs). pdf.js with pdf/*.js checks the contract
// PDF's own signatures (docs/pdf-signatures.md, twin of verifier/src/pdf.rs
// and pdf/*.rs). The server serves each at /verify/verifier/...
// (src/api/web.rs); tests/browser/module-cycles.mjs keeps their imports
// acyclic.

export { m, Fail } from './verifier/error.js';
export { utf8Length } from './verifier/std.js';
export { b64decode, b64encode, hex, sha256, leafHash } from './verifier/hash.js';
export { parseStrictJson, decodeUtf8, canonicalJson } from './verifier/jcs.js';
export { isStrictPoint, isCurvePoint, importEd25519, ed25519Verify } from './verifier/ed25519.js';
export { ALG_ED25519, ALG_COSIGNATURE_V1, validKeyName, parseVkey, parseNote, verifyNoteSignature } from './verifier/note.js';
export { parseCheckpointBody, parseSignedCheckpoint } from './verifier/checkpoint.js';
export { verifyCosignatures } from './verifier/cosignature.js';
export { parseSm2Vkey, verifySm2NoteSignature, sm2CosignatureLine } from './verifier/sm2note.js';
export { parseAnyVkey, keySuite, isCosigner } from './verifier/anykey.js';
export { inclusionRoot, verifyInclusion, verifyConsistency } from './verifier/proof.js';
export { KINDS, parseLedgerTime } from './verifier/entry.js';
export { ATTESTATION_CONTEXT_V2, attestationMessage } from './verifier/attest.js';
export {
  LEAF_FORMAT_V2, RECORD_FORMAT_V2, IDENTITY_FORMAT_V2, COMMITMENT_ALG_V2,
  parseLeaf, recordCommitment, identityCommitment, parseRecord, openLeaf, openIdentity,
} from './verifier/v2.js';
export { MAX_TOKEN_SIZE, isPemCertificateShape, trustedTsa, verifyTimestampToken } from './verifier/tsa.js';
export { MAX_POLICY_BYTES, MAX_TSA_ROOTS, MAX_ROOT_PEM_BYTES, emptyPolicy, parsePolicy, policyTextFromKeys, policyFromLogInfo } from './verifier/policy.js';
export { terminalSafe, plain, plainFull, unixToRfc3339, describeAttestation, finishReport } from './verifier/report.js';
export { verdictOf } from './verifier/verdict.js';
export { MAX_BUNDLE_BYTES, parseBundle, checkBundleShape, verifyBundle } from './verifier/bundle.js';
export { erasedIndicesSha256 } from './verifier/bundle/commitments.js';
export { verifyStillInLog } from './verifier/consistency.js';
export { lookupToBundles, isLookupV2, checkLookupShape, verifyLookup } from './verifier/lookup.js';
export { MAX_PDF_BYTES, looksLikePdf, verifyPdf, signedDocuments, matchBundle } from './verifier/pdf.js';
