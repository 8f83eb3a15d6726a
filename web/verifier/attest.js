// The attestation message: the bytes an issuer signs, v1 (claim, document
// hash, event, issuer, kind), v2 (which also binds tenant, contract and
// actor) and v2.1 (which also binds the person's identity digest and the
// log's origin). Twin of verifier/src/attest.rs (and entry.rs
// attestation_message_for).

import { utf8, concat } from './std.js';
import { canonicalJson } from './jcs.js';
import { hex, sha256 } from './hash.js';
import { sm3 } from './sm.js';

/** The context member of an attestation v2 message. */
export const ATTESTATION_CONTEXT_V2 = 'evidence-ledger/attestation/v2';
/** The context member of an attestation v2.1 message (`"v": "2.1"`). */
export const ATTESTATION_CONTEXT_V2_1 = 'evidence-ledger/attestation/v2.1';
/** The identity digest's domain prefix (attest.rs IDENTITY_DIGEST_DOMAIN). */
export const IDENTITY_DIGEST_DOMAIN = 'evidence-ledger/identity/v1\n';

/** attest.rs identity_digest: lowercase hex of SHA-256 (ed25519-sha256) or
 * SM3 (sm2-sm3) over the domain then JCS {id_number, id_type, name}. */
export async function identityDigest(suite, id) {
  const data = concat(utf8.encode(IDENTITY_DIGEST_DOMAIN),
    utf8.encode(canonicalJson({ id_number: id.id_number, id_type: id.id_type, name: id.name })));
  return hex(suite === 'sm2-sm3' ? sm3(data) : await sha256(data));
}

/** The bytes attestation `j` of `ev` signs, for an event of `tenant`
 * (DESIGN.md "Submitting events"; attestation v2 for `"v": 2`: attest.rs
 * attestation_message_v2, binding tenant, contract and actor; v2.1 for
 * `"v": "2.1"`, which also binds `binding.log` (the log's origin) and
 * `binding.identity` (the person's digest, or null for none): the caller
 * must have both, else null). */
export function attestationMessage(ev, j, tenant, binding = {}) {
  const a = ev.attestations[j];
  const v2 = {
    actor_id: ev.actor.id, claim: a.claim, context: ATTESTATION_CONTEXT_V2, document_hash: ev.document_hash,
    document_id: ev.document_id, event_id: ev.event_id, issuer: a.issuer, kind: ev.kind, tenant,
  };
  if (a.v === '2.1') {
    if (typeof binding.log !== 'string' || binding.identity === undefined) return null;
    return utf8.encode(canonicalJson({ ...v2, context: ATTESTATION_CONTEXT_V2_1, identity: binding.identity, log: binding.log }));
  }
  if (a.v === 2) return utf8.encode(canonicalJson(v2));
  const obj = { claim: a.claim, document_hash: ev.document_hash, event_id: ev.event_id, issuer: a.issuer, kind: ev.kind };
  return utf8.encode(canonicalJson(obj));
}
