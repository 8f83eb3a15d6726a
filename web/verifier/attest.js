// The attestation message: the bytes an issuer signs, v1 (claim, document
// hash, event, issuer, kind) and v2 (which also binds tenant, contract and
// actor). Twin of verifier/src/attest.rs (and entry.rs attestation_message).

import { utf8 } from './std.js';
import { canonicalJson } from './jcs.js';

/** The context member of an attestation v2 message. */
export const ATTESTATION_CONTEXT_V2 = 'evidence-ledger/attestation/v2';

/** The bytes attestation `j` of `ev` signs, for an event of `tenant`
 * (DESIGN.md "Submitting events"; attestation v2 for `"v": 2`: attest.rs
 * attestation_message_v2, binding tenant, contract and actor). */
export function attestationMessage(ev, j, tenant) {
  const a = ev.attestations[j];
  if (a.v === 2) {
    return utf8.encode(canonicalJson({
      actor_id: ev.actor.id, claim: a.claim, context: ATTESTATION_CONTEXT_V2, document_hash: ev.document_hash,
      document_id: ev.document_id, event_id: ev.event_id, issuer: a.issuer, kind: ev.kind, tenant,
    }));
  }
  const obj = { claim: a.claim, document_hash: ev.document_hash, event_id: ev.event_id, issuer: a.issuer, kind: ev.kind };
  return utf8.encode(canonicalJson(obj));
}
