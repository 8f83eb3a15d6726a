// The page's PDF signature checker (web/verifier/pdf.js) against
// `verifier pdf --json` on a shared case set: PDFs signed by pyHanko with
// an openssl CA, made and run through the CLI by verifier/tests/pdf.rs
// (the_page_agrees_with_verifier_pdf_on_the_shared_cases), which writes
//
//   EL_PDF_CASES   a JSON file: [{name, pdf, policy, bundle, mutation,
//                  expected}], paths to the PDF, the policy file (or
//                  null) and the bundle (or null), whether the PDF is a
//                  byte mutation of a signed file, and the CLI's --json
//                  report
//
// Each case must give the same report in Node, member for member, but for
// the words (problems and reasons are counted: the page's are message
// descriptors for i18n.js, the CLI's English sentences).
//
// Without EL_PDF_CASES only the unit tests of the byte rules run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as v from '../../web/verifier.js';
import { checkByteRange, checkGap, parsePdfDate, revisionEnds } from '../../web/verifier/pdf/structure.js';
import { render } from '../../web/i18n.js';

const ascii = (s) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

test('PDF dates: the full form only, with its zone (structure.rs pdf_dates)', () => {
  assert.equal(parsePdfDate(ascii('D:20261207152725Z')), 1796657245);
  assert.equal(parsePdfDate(ascii('D:20261207152725')), 1796657245);
  assert.equal(parsePdfDate(ascii("D:20261207232725+08'00'")), 1796657245);
  assert.equal(parsePdfDate(ascii("D:20261207072725-08'00")), 1796657245);
  for (const bad of ['D:2026120715', 'D:20261307152725Z', 'D:20261207152725+8', 'x', 'D:20230229000000Z']) assert.equal(parsePdfDate(ascii(bad)), null, bad);
  assert.equal(parsePdfDate(ascii('D:20240229000000Z')), 1709164800);
});

test('revisions end after %%EOF and its end of line', () => {
  assert.deepEqual(revisionEnds(ascii('%%EOF\r\n%%EOF\r%%EOF')), [7, 13, 18]);
});

test('the /ByteRange rules (structure.rs bad_ranges)', () => {
  const f = ascii('0123456789<abcd>0123%%EOF\ntail%%EOF\n');
  const ends = revisionEnds(f);
  assert.deepEqual(checkByteRange(f, [0, 10, 16, 10], ends).ok, { gap: [10, 16], end: 26 });
  assert.equal(checkByteRange(f, [0, 10, 16, 20], ends).ok.end, 36);
  for (const [br, what] of [
    [[0, 10, 16], 'br_count'], [[0, 10, 16, 10, 0, 0], 'br_count'], [[1, 9, 16, 10], 'br_start'],
    [[0, -10, 16, 10], 'br_negative'], [[0, 10, 10, 16], 'br_gap'], [[0, 16, 10, 16], 'br_gap'], [[0, 0, 16, 10], 'br_gap'],
    [[0, 10, 16, 100], 'br_beyond'], [[0, 9, 16, 10], 'br_not_hex'], [[0, 10, 17, 9], 'br_not_hex'], [[0, 11, 15, 11], 'br_not_hex'],
    [[0, 10, 16, 5], 'br_not_revision'],
  ]) {
    const r = checkByteRange(f, br, ends);
    assert.equal(r.err?.a.what, what, JSON.stringify(br));
    assert.ok(!render(r.err, 'zh').includes('undefined') && !render(r.err, 'en').includes('undefined'));
  }
});

test('the gap must be this dictionary\'s own /Contents (structure.rs the_gap_must_be_this_dictionarys_contents)', () => {
  const whole = (f, gap) => {
    const at = String.fromCharCode(...f).indexOf(gap);
    return checkByteRange(f, [0, at, at + gap.length, f.length - at - gap.length], revisionEnds(f)).ok;
  };
  const f = ascii('7 0 obj\n<< /Contents <abcd> /ByteRange [0 21 27 40] >>\nendobj\n%%EOF\n');
  const range = whole(f, '<abcd>');
  assert.equal(checkGap(f, range, [7, 0], 0, new Uint8Array([0xab, 0xcd])), null);
  for (const [id, offset, contents, what] of [
    [[7, 0], 0, [0xab, 0xce], 'gap_other'],
    [[8, 0], 0, [0xab, 0xcd], 'gap_offset'],
    [[7, 0], null, [0xab, 0xcd], 'gap_objstm'],
  ]) assert.equal(checkGap(f, range, id, offset, new Uint8Array(contents)).a.what, what);
  // A hex string of another object, after this one's endobj.
  const f2 = ascii('7 0 obj\n<< /Contents <ab> >>\nendobj\n8 0 obj <abcd> endobj\n%%EOF\n');
  assert.equal(checkGap(f2, whole(f2, '<abcd>'), [7, 0], 0, new Uint8Array([0xab, 0xcd])).a.what, 'gap_outside');
});

test('not a PDF, and a PDF without a signature, fail', async () => {
  const policy = v.emptyPolicy();
  let r = await v.verifyPdf(ascii('hello'), policy, 1800000000);
  assert.equal(r.verdict.status, 'failed');
  assert.ok(r.unreadable);
  r = await v.verifyPdf(ascii('%PDF-1.7\n1 0 obj\n<< >>\nendobj\n'), policy, 1800000000);
  assert.equal(r.verdict.status, 'failed');
  assert.equal(render(r.verdict.summary, 'en'), 'NOT VERIFIED: the file is not a readable PDF');
});

/** A report with its words replaced by how many there are. For a
 * mutated file (`loose`), an invalid signature keeps only its status,
 * numbers and bytes: where the mutation broke the inside of a CMS value
 * that the Rust decoder holds as ANY (an attribute value), it decodes the
 * SignedData and names the signer, asn1js cannot, and the page says "not a
 * DER CMS"; both say invalid (docs/pdf-signatures.md §11). And for a
 * mutated file that fails on both sides, the number of revisions may
 * differ: lopdf and the page's reader can disagree on whether a broken
 * prefix still reads as a PDF (seen once: "mutation 161 of xs2.pdf", 3
 * against 2); the verdict, each signature's status and the revisions after
 * the last signature must still agree. */
function comparable(report, loose = false) {
  const r = structuredClone(report);
  r.verdict = { status: r.verdict.status, reasons: r.verdict.reasons.length };
  r.unreadable = r.unreadable !== null;
  for (const s of r.signatures) {
    s.problems = s.problems.length;
    s.untrusted = s.untrusted.length;
    if (loose && s.status === 'invalid') for (const k of ['signer', 'digest_algorithm', 'signing_time']) delete s[k];
  }
  if (loose) delete r.last_signing_time;
  if (loose && !r.passed) delete r.revisions;
  if (r.bundle) delete r.bundle.verdict;
  return r;
}

/** What the page would show for one case: verifyPdf, then, with a
 * bundle, its verdict under the same policy and its signed events. */
async function pageReport(c) {
  const text = c.policy ? readFileSync(c.policy, 'utf8') : null;
  const policy = text === null ? v.emptyPolicy() : await v.parsePolicy(text);
  const now = Math.floor(Date.now() / 1000);
  const report = await v.verifyPdf(new Uint8Array(readFileSync(c.pdf)), policy, now);
  if (!c.bundle) return report;
  const bytes = new Uint8Array(readFileSync(c.bundle));
  const bundle = await v.verifyBundle(bytes, { policy, now });
  return v.matchBundle(report, bundle.verdict.status === 'verified', bundle.verdict.summary, await v.signedDocuments(bytes));
}

test('the page gives verifier pdf --json\'s report on every shared case', { skip: !process.env.EL_PDF_CASES && 'EL_PDF_CASES is not set (run through verifier/tests/pdf.rs)' }, async () => {
  const cases = JSON.parse(readFileSync(process.env.EL_PDF_CASES, 'utf8'));
  assert.ok(cases.length >= 15, `${cases.length} cases`);
  for (const c of cases) {
    const page = await pageReport(c);
    // On a difference, the words of both sides say where it is.
    const words = (r, say) => JSON.stringify(r.signatures.map((x) => [...x.problems, ...x.untrusted].map(say)));
    const why = `case ${c.name}: the page says ${words(page, (x) => render(x, 'en'))}, the CLI ${words(c.expected, (x) => x)}`;
    assert.deepEqual(comparable(page, c.mutation), comparable(c.expected, c.mutation), why);
    // Every word the page would show exists in both languages.
    for (const msg of [page.verdict.summary, ...page.verdict.reasons]) {
      for (const lang of ['zh', 'en']) assert.ok(!/undefined|pdf\.p/.test(render(msg, lang)), `${c.name}: ${render(msg, lang)}`);
    }
  }
});
