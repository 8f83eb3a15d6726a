// A verifier key of either suite: Ed25519 (signed-note 0x01, cosignature
// 0x04, note.js) or SM2 (0xff types, sm2note.js), for code that takes a
// vkey without knowing the log's suite in advance. Twin of
// verifier/src/anykey.rs; owns only the dispatch.

import { b64decode } from './hash.js';
import { ALG_COSIGNATURE_V1, parseVkey, verifyNoteSignature } from './note.js';
import { cosignatureLine } from './cosignature.js';
import { ALG_SM2_COSIGNATURE, parseSm2Vkey, sm2CosignatureLine, verifySm2NoteSignature } from './sm2note.js';
import { ED25519_SHA256, SM2_SM3, sm2VerifyRaw } from './sm.js';
import { ed25519Verify } from './ed25519.js';

/** Parses a vkey of either suite (the type after the second '+' tells:
 * 0xff is SM2, anything else goes to note.js as before). */
export async function parseAnyVkey(vkey) {
  const parts = typeof vkey === 'string' ? vkey.split('+') : [];
  const material = parts.length >= 3 ? b64decode(parts.slice(2).join('+')) : null;
  return material && material[0] === 0xff ? parseSm2Vkey(vkey) : parseVkey(vkey);
}

/** The suite (sm.js) a parsed key belongs to. */
export const keySuite = (key) => (key.sm2 ? SM2_SM3 : ED25519_SHA256);

/** Whether a parsed key is a witness's cosigning key (0x04 or SM2 cosignature). */
export const isCosigner = (key) => key.alg === ALG_COSIGNATURE_V1 || key.alg === ALG_SM2_COSIGNATURE;

/** The note carries a valid signature by `key`: null, or the reason. */
export const verifyAnyNoteSignature = (key, cp) => (key.sm2 ? verifySm2NoteSignature(key, cp) : verifyNoteSignature(key, cp));

/** One cosignature line under `key`: {time} or {err}. */
export const anyCosignatureLine = (key, cp, s) => (key.sm2 ? sm2CosignatureLine(key, cp, s) : cosignatureLine(key, cp, s));

/** One attestation signature by an issuer key of either suite (anykey.rs
 * verify_attestation): `key.sm2Point` (SM2, 64 bytes r || s) or
 * `key.cryptoKey` (Ed25519, the strict rule of ed25519.js). */
export const verifyIssuerSignature = async (key, sig, msg) => (key.sm2Point ? sm2VerifyRaw(key.sm2Point, sig, msg) : ed25519Verify(key.cryptoKey, sig, msg));
