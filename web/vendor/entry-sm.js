// The entry point scripts/vendor-web bundles into web/vendor/sm-crypto.js:
// what web/verifier/sm.js uses of sm-crypto, its SM2 and SM3 modules (its
// SM4 is not needed by the page and is left out).
import sm2 from 'sm-crypto/src/sm2/index.js';
import sm3 from 'sm-crypto/src/sm3/index.js';

export { sm2, sm3 };
