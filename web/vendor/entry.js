// The entry point scripts/vendor-web bundles into web/vendor/pki.js: what
// web/verifier/tsa.js uses of PKI.js (CMS and X.509 structures) and asn1js
// (DER decoding of the attributes PKI.js has no class for).
export * as asn1js from 'asn1js';
export {
  BasicConstraints, Certificate, ContentInfo, ExtKeyUsage, SignedData, TSTInfo,
} from 'pkijs';
