// Errors as messages for people: the descriptor {k, a} that i18n.js words,
// the Fail that carries one, and {ok} / {err} results (attempt). Twin of
// verifier/src/error.rs (VerifyError), whose words are English strings.

/** A message for people: key into i18n.js and its arguments. */
export const m = (k, a = {}) => ({ k, a });

/** An error carrying a message descriptor. */
export class Fail extends Error {
  constructor(msg) {
    super(msg.k);
    this.msg = msg;
  }
}
export const fail = (k, a) => {
  throw new Fail(m(k, a));
};

export const errMsg = (e) => (e instanceof Fail ? e.msg : m('r.internal', { why: String(e && e.message) }));

export async function attempt(f) {
  try {
    return { ok: await f() };
  } catch (e) {
    return { err: errMsg(e) };
  }
}
