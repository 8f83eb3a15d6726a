// The contract file's own PDF signatures, checked in the browser against
// the `ca` and `tsa` roots of the trust policy the person verifying loaded
// (docs/pdf-signatures.md is the normative text). Twin of
// verifier/src/pdf.rs: the same report (`evidence-pdf-report/v1`, its
// members snake_case as `verifier pdf --json` prints them), the same
// verdict, for every signature the same status, facts and number of
// problems; the problems are message descriptors for i18n.js to word.
//
// pdf/xref.js reads each revision as lopdf reads it (pdf/objects.js parses
// the objects), pdf/structure.js finds the signature dictionaries and holds
// the byte rules, pdf/cms.js checks the CMS with PKI.js and the page's RFC
// 3161 code. Pure: bytes in, a report out; never throws on any bytes.

import { m } from './error.js';
import { hex, sha256 } from './hash.js';
import { unixToRfc3339 } from './report.js';
import { pemCertificateDer } from './tsa.js';
import { parseBundle, checkBundleShape } from './bundle.js';
import { decode, readable } from './bundle/decode.js';
import { MAX_CONTENTS_BYTES, checkByteRange, checkGap, parsePdfDate, readStructure } from './pdf/structure.js';
import { checkCms } from './pdf/cms.js';

/** Largest PDF accepted, checked before parsing. */
export const MAX_PDF_BYTES = 64 << 20;
/** The `format` of a report. */
export const PDF_REPORT_FORMAT = 'evidence-pdf-report/v1';
/** The SubFilters checked. */
export const SUB_FILTERS = ['adbe.pkcs7.detached', 'ETSI.CAdES.detached'];

const p = (what, a = {}) => m('pdf.p', { what, ...a });

/** Whether `bytes` look like a PDF (its header in the first KiB), so that
 * the page offers the signature check. */
export function looksLikePdf(bytes) {
  const head = String.fromCharCode(...bytes.subarray(0, 1024));
  return head.includes('%PDF-');
}

/** The policy's roots as {name, sha256} (pdf.rs RootFact). */
async function rootFacts(roots) {
  const out = [];
  for (const r of roots) out.push({ name: r.name, sha256: hex(await sha256(pemCertificateDer(r.pem))) });
  return out;
}

/**
 * Checks every signature of `pdf` (bytes) against `policy` (its `cas` and
 * `tsas`, from parsePolicy), as of `now` (unix seconds): the report of
 * `verifier pdf --json` (pdf.rs verify_pdf).
 */
export async function verifyPdf(pdf, policy, now) {
  const report = {
    format: PDF_REPORT_FORMAT,
    passed: false,
    verdict: { status: 'failed', summary: null, reasons: [] },
    ca_roots: await rootFacts(policy.cas),
    tsa_roots: await rootFacts(policy.tsas),
    file_size: pdf.length,
    file_sha256: hex(await sha256(pdf)),
    unreadable: null,
    revisions: 0,
    signatures: [],
    bytes_after_last_signature: null,
    revisions_after_last_signature: 0,
    last_signing_time: null,
    bundle: null,
  };
  if (pdf.length > MAX_PDF_BYTES) {
    report.unreadable = p('too_large', { max: MAX_PDF_BYTES });
    return finish(report);
  }
  const s = await readStructure(pdf);
  if (s.unreadable) report.unreadable = s.unreadable;
  else {
    report.revisions = s.revisionEnds.length;
    for (const [i, d] of s.signatures.entries()) report.signatures.push(await checkOne(pdf, i + 1, d, s.revisionEnds, policy, now));
    const ends = report.signatures.map((x) => x.revision_end).filter((e) => e !== null);
    const last = ends.length ? Math.max(...ends) : null;
    report.bytes_after_last_signature = last === null ? null : pdf.length - last;
    report.revisions_after_last_signature = last === null ? 0 : s.revisionEnds.filter((r) => r > last).length;
  }
  // The latest time; of equal ones the last (Rust's Iterator::max_by_key).
  for (const sig of report.signatures) {
    const t = sig.status !== 'invalid' ? sig.signing_time : null;
    if (t && (!report.last_signing_time || t.unix >= report.last_signing_time.unix)) report.last_signing_time = t;
  }
  return finish(report);
}

/** All checks of one signature dictionary (pdf.rs check_one). */
async function checkOne(pdf, number, d, ends, policy, now) {
  const sig = {
    number,
    field: d.field,
    sub_filter: d.subFilter,
    status: 'invalid',
    problems: [],
    untrusted: [],
    byte_range: d.byteRange.ok ?? [],
    revision_end: null,
    revision_sha256: null,
    digest_algorithm: null,
    signer: null,
    signing_time: null,
  };
  const e = await structureChecks(pdf, d, ends, sig);
  if (e) {
    sig.problems.push(e);
    return sig;
  }
  const [b, c] = sig.byte_range.slice(1, 3);
  const checked = await checkCms(d.contents.ok, [pdf.subarray(0, b), pdf.subarray(c, sig.revision_end)], d.subFilter, policy, now);
  sig.signer = checked.signer;
  sig.signing_time = checked.signing_time ?? dictionaryTime(d);
  sig.digest_algorithm = checked.digest_algorithm;
  sig.problems = checked.problems;
  sig.untrusted = checked.untrusted;
  sig.status = sig.problems.length ? 'invalid' : sig.untrusted.length ? 'untrusted' : 'valid';
  return sig;
}

/** The `/M` of the signature dictionary, as a claimed signing time. */
function dictionaryTime(d) {
  const unix = d.m ? parsePdfDate(d.m) : null;
  return unix === null || unix < 0 ? null : { time: unixToRfc3339(unix), unix, source: 'signature_dictionary' };
}

/** SubFilter, `/ByteRange`, `/Contents` and the gap; sets the revision.
 * Returns the first problem, or null (pdf.rs structure_checks). */
async function structureChecks(pdf, d, ends, sig) {
  if (d.byteRange.err) return d.byteRange.err;
  const range = checkByteRange(pdf, d.byteRange.ok, ends);
  if (range.err) return range.err;
  sig.revision_end = range.ok.end;
  sig.revision_sha256 = hex(await sha256(pdf.subarray(0, range.ok.end)));
  if (!SUB_FILTERS.includes(d.subFilter)) return p('sub_filter', { sub_filter: d.subFilter });
  if (d.contents.err) return d.contents.err;
  if (d.contents.ok.length > MAX_CONTENTS_BYTES) return p('contents_size', { max: MAX_CONTENTS_BYTES });
  return checkGap(pdf, range.ok, d.id, d.offset, d.contents.ok);
}

/**
 * The readable `signed` entries of a bundle (bytes or a parsed object) with
 * their document hashes, in bundle order (bundle.rs signed_documents):
 * [{index, event_id, actor, ledger_time, document_hash}]. Says nothing of
 * whether the bundle verifies: run verifyBundle too. [] if it does not parse.
 */
export async function signedDocuments(input) {
  let b;
  try {
    b = input instanceof Uint8Array ? parseBundle(input) : checkBundleShape(input);
  } catch {
    return [];
  }
  return readable(await decode(b))
    .filter(([, l]) => l.event.kind === 'signed')
    .map(([index, l]) => ({
      index,
      event_id: l.event.event_id,
      actor: `${l.event.actor.display} (${l.event.actor.id})`,
      ledger_time: l.ledger_time,
      document_hash: l.event.document_hash,
    }));
}

/** Matches each signed revision with the bundle's `signed` events by
 * document hash; `verified` and `verdict` are the bundle's own verdict
 * (a message) (pdf.rs match_bundle). */
export function matchBundle(report, verified, verdict, signed) {
  let matched = 0;
  for (const sig of report.signatures) {
    const events = signed
      .filter((e) => e.document_hash === sig.revision_sha256)
      .map(({ index, event_id, actor, ledger_time }) => ({ index, event_id, actor, ledger_time }));
    if (events.length) matched++;
    sig.bundle_events = events;
  }
  report.bundle = { verified, verdict, signed_events: signed.length, matched_revisions: matched };
  return finish(report);
}

/** Sets the verdict from the findings: the first rule that applies
 * (docs/pdf-signatures.md §7; pdf.rs PdfReport::finish). */
function finish(report) {
  const reasons = [];
  const sigs = report.signatures;
  if (report.unreadable) reasons.push(report.unreadable);
  else if (!sigs.length) reasons.push(p('no_signature'));
  for (const s of sigs) for (const why of [...s.problems, ...s.untrusted]) reasons.push(p('of_signature', { n: s.number, why }));
  const invalid = sigs.some((s) => s.status === 'invalid');
  const untrusted = sigs.some((s) => s.status === 'untrusted');
  const after = report.bytes_after_last_signature ?? 0;
  if (after > 0) reasons.push(p('after', { bytes: after, revisions: report.revisions_after_last_signature }));
  const b = report.bundle;
  if (b && !b.verified) reasons.push(p('bundle_not_verified', { why: b.verdict }));
  if (b && b.matched_revisions === 0) reasons.push(p('bundle_no_match'));
  const bundleBad = Boolean(b && (!b.verified || b.matched_revisions === 0));
  let status = 'verified';
  if (report.unreadable || !sigs.length || invalid) status = 'failed';
  else if (after > 0) status = 'modified_after_signing';
  else if (untrusted) status = 'untrusted';
  else if (bundleBad) status = 'bundle_mismatch';
  const kind = status === 'failed' ? (report.unreadable ? 'unreadable' : sigs.length ? 'failed' : 'none') : status;
  report.passed = status === 'verified';
  report.verdict = { status, summary: m('pdf.verdict', { status: kind, n: sigs.length }), reasons };
  return report;
}
