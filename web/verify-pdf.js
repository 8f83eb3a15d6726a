// The verifier page's section on the contract PDF's own signatures
// (docs/pdf-signatures.md §11): what web/verifier/pdf.js found, worded by
// i18n-pdf.js. verify.js hands in its element builder `el` (every string
// through terminalSafe), `t` (UI words) and `say` (message descriptors).

/** The contract PDF's own signatures: the verdict, then per signature its
 * status, certificate, time, revision and logged events. */
export function pdfSignatures({ report: r, error }, { el, t, say }) {
  const box = el('section', { class: 'card pdf', id: 'pdf-signatures', 'data-verdict': r ? r.verdict.status : 'error' }, el('h3', {}, t('pdf_title')));
  if (!r) {
    box.append(el('div', { class: 'error' }, `${t('pdf_error')}: ${error}`));
    return box;
  }
  const ok = r.passed;
  const verdictBox = el('div', { class: `verdict ${ok ? 'ok' : r.verdict.status === 'failed' ? 'bad' : 'warn'}`, id: 'pdf-verdict' },
    el('h4', {}, `${ok ? '✔' : '✘'} ${say(r.verdict.summary)}`));
  if (r.verdict.reasons.length) verdictBox.append(el('ul', { class: 'reasons' }, r.verdict.reasons.map((x) => el('li', {}, say(x)))));
  box.append(el('p', { class: 'claim' }, t('pdf_intro')), verdictBox);
  if (!r.ca_roots.length) box.append(el('p', { class: 'claim', id: 'pdf-no-ca' }, t('pdf_no_ca')));
  box.append(el('p', {}, t('pdf_counts', r.revisions, r.signatures.length)));
  const fact = (k, v, cls, attrs = {}) => [el('dt', {}, t(k)), el('dd', { class: cls, ...attrs }, v)];
  for (const s of r.signatures) {
    const c = s.signer;
    const st = s.signing_time;
    const facts = el('dl', { class: 'facts' },
      c ? fact('pdf_signer', c.subject, 'pdf-subject') : null,
      c ? fact('pdf_issuer', c.issuer, 'pdf-issuer') : null,
      c ? fact('pdf_serial', c.serial, 'mono pdf-serial') : null,
      c ? fact('pdf_validity', t('pdf_validity_value', c.not_before, c.not_after), 'pdf-validity') : null,
      c ? fact('pdf_root', c.trusted_root ?? t('pdf_no_root'), 'pdf-root') : null,
      st ? fact('pdf_time', t('pdf_time_value', st), `pdf-time${st.source === 'timestamp' ? '' : ' claim'}`, { 'data-source': st.source }) : null,
      s.revision_end !== null ? fact('pdf_revision', t('pdf_revision_value', s.revision_end, s.revision_sha256), 'mono pdf-revision') : null,
      s.bundle_events ? fact('pdf_events', s.bundle_events.length
        ? el('ul', {}, s.bundle_events.map((e) => el('li', { 'data-event-id': e.event_id }, t('pdf_event', e))))
        : t('pdf_no_event'), 'pdf-events') : null);
    const why = [...s.problems, ...s.untrusted];
    box.append(el('div', { class: `pdf-signature ${s.status}`, 'data-number': s.number, 'data-status': s.status },
      el('h4', {}, `${t('pdf_sig_title', s.number, s.field, s.sub_filter)}: ${t(`pdf_${s.status}`)}`),
      facts, why.length ? el('ul', { class: 'reasons' }, why.map((x) => el('li', {}, say(x)))) : null));
  }
  const after = r.bytes_after_last_signature;
  if (after !== null) box.append(el('p', { id: 'pdf-after', 'data-bytes': after }, after ? t('pdf_after', after, r.revisions_after_last_signature) : t('pdf_nothing_after')));
  if (r.last_signing_time) box.append(el('p', {}, `${t('pdf_last_time')}: ${t('pdf_time_value', r.last_signing_time)}`));
  if (r.bundle) box.append(el('p', { id: 'pdf-bundle' }, t('pdf_bundle', r.bundle.verified, r.bundle.signed_events, r.bundle.matched_revisions)));
  return box;
}
