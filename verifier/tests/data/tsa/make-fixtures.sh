#!/usr/bin/env bash
# Regenerates the RFC 3161 fixtures of verifier/tests/tsa.rs with a real TSA:
# `openssl ts -reply` (OpenSSL 3). Every key here is a throwaway test key.
#
#   root-ca        RSA-2048 test root the tests trust ("test-tsa-root")
#   inter-ca       ECDSA P-384 intermediate under root-ca
#   tsa-rsa        RSA-2048 TSA, critical EKU timeStamping, under root-ca
#   tsa-ec         ECDSA P-256 TSA, critical EKU timeStamping, under inter-ca
#   other-root     a root the tests do not trust, with its own TSA other-tsa
#   tsa-noeku      RSA-2048 under root-ca without any extended key usage
#
# Tokens (DER TimeStampToken, `-token_out`), all with `-cert`:
#   token-rsa.der        over SHA-256(document.txt) by tsa-rsa (ESSCertIDv2)
#   token-rsa-frac.der   same TSA, genTime with milliseconds
#   token-ec.der         over SHA-256(document.txt) by tsa-ec, chain in token
#   token-other-hash.der over SHA-256(other-document.txt) by tsa-rsa
#   token-untrusted.der  over SHA-256(document.txt) by other-tsa
#   token-noeku.der      the TSTInfo of token-rsa.der re-signed by tsa-noeku
#   token-resigned.der   the same TSTInfo re-signed by tsa-rsa (control)
# `openssl ts -reply` refuses a signer without the critical timeStamping EKU,
# so the no-EKU token is made with `openssl cms -sign` over a real TSTInfo.
#
# Responses (DER TimeStampResp): resp-granted.der, resp-rejected.der (SHA-1
# imprint, which this TSA does not accept: status rejection).
set -euo pipefail
cd "$(dirname "$0")"
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }

W=work
rm -rf "$W" && mkdir -p "$W"
DAYS=7300

cat > "$W/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[noeku]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

key() { # name algorithm-options...
  local name=$1; shift
  openssl genpkey -quiet "$@" -out "$W/$name.key"
}
root() { # name subject
  openssl req -new -x509 -key "$W/$1.key" -subj "$2" -days "$DAYS" -sha256 \
    -config "$W/ext.cnf" -extensions ca -out "$1.pem"
}
issue() { # name subject issuer extensions serial digest
  openssl req -new -key "$W/$1.key" -subj "$2" -config "$W/ext.cnf" -out "$W/$1.csr"
  openssl x509 -req -in "$W/$1.csr" -CA "$3.pem" -CAkey "$W/$3.key" \
    -set_serial "$5" -days "$DAYS" -"$6" -extfile "$W/ext.cnf" -extensions "$4" \
    -out "$1.pem" 2>/dev/null
}

key root-ca -algorithm RSA -pkeyopt rsa_keygen_bits:2048
root root-ca "/C=CN/O=Evidence Ledger Test/CN=Test TSA Root"
key inter-ca -algorithm EC -pkeyopt ec_paramgen_curve:P-384
issue inter-ca "/C=CN/O=Evidence Ledger Test/CN=Test TSA Intermediate" root-ca ca 2 sha256
key tsa-rsa -algorithm RSA -pkeyopt rsa_keygen_bits:2048
issue tsa-rsa "/C=CN/O=Evidence Ledger Test/CN=Test TSA RSA" root-ca tsa 3 sha256
key tsa-ec -algorithm EC -pkeyopt ec_paramgen_curve:P-256
issue tsa-ec "/C=CN/O=Evidence Ledger Test/CN=Test TSA EC" inter-ca tsa 4 sha384
key tsa-noeku -algorithm RSA -pkeyopt rsa_keygen_bits:2048
issue tsa-noeku "/C=CN/O=Evidence Ledger Test/CN=Test Signer Without EKU" root-ca noeku 5 sha256
key other-root -algorithm RSA -pkeyopt rsa_keygen_bits:2048
root other-root "/C=CN/O=Untrusted Test/CN=Untrusted TSA Root"
key other-tsa -algorithm RSA -pkeyopt rsa_keygen_bits:2048
issue other-tsa "/C=CN/O=Untrusted Test/CN=Untrusted TSA" other-root tsa 6 sha256
# The request round-trip test in tsa.rs runs tsa-rsa as a TSA: keep its key.
cp "$W/tsa-rsa.key" tsa-rsa.key

# tsa.cnf: its tsa_rsa section is also the TSA of the request round trip in
# tests/tsa.rs (run from a copy holding tsa.cnf, tsa-rsa.pem, tsa-rsa.key).
cat > tsa.cnf <<'EOF'
[tsa]
default_tsa = tsa_rsa
[tsa_rsa]
serial = serial
crypto_device = builtin
signer_cert = tsa-rsa.pem
signer_key = tsa-rsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5.6
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[tsa_rsa_frac]
serial = serial
crypto_device = builtin
signer_cert = tsa-rsa.pem
signer_key = tsa-rsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:0, millisecs:1
clock_precision_digits = 3
tsa_name = yes
ess_cert_id_alg = sha256
[tsa_ec]
serial = serial
crypto_device = builtin
signer_cert = tsa-ec.pem
certs = inter-ca.pem
signer_key = work/tsa-ec.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
tsa_name = yes
[tsa_other]
serial = serial
crypto_device = builtin
signer_cert = other-tsa.pem
signer_key = work/other-tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
EOF
echo 1000 > serial

printf 'Contract 42: the parties agree to the terms below.\n' > document.txt
printf 'Contract 42, amended without consent.\n' > other-document.txt
# openssl ts is chatty on stderr even when it succeeds: show it on failure.
quiet() { "$@" 2>"$W/stderr" || { cat "$W/stderr" >&2; return 1; }; }
query() { # data digest out
  quiet openssl ts -query -data "$1" -"$2" -cert -out "$W/$3.tsq"
}
reply() { # section query out [extra]
  quiet openssl ts -reply -config tsa.cnf -section "$1" -queryfile "$W/$2.tsq" -out "$3" "${@:4}"
  grep -q 'Response has been generated' "$W/stderr" || { cat "$W/stderr" >&2; return 1; }
}
query document.txt sha256 doc
query other-document.txt sha256 other
query document.txt sha1 sha1
reply tsa_rsa doc token-rsa.der -token_out
reply tsa_rsa_frac doc token-rsa-frac.der -token_out
reply tsa_ec doc token-ec.der -token_out
reply tsa_rsa other token-other-hash.der -token_out
reply tsa_other doc token-untrusted.der -token_out
reply tsa_rsa doc resp-granted.der
reply tsa_rsa sha1 resp-rejected.der

# Re-sign the TSTInfo of token-rsa.der with `openssl cms` (no ESS attribute).
tst_offset=$(openssl asn1parse -inform DER -in token-rsa.der \
  | awk '/OBJECT +:id-smime-ct-TSTInfo/ { found = 1; next }
         found && /OCTET STRING/ { split($1, a, ":"); print a[1]; exit }')
openssl asn1parse -inform DER -in token-rsa.der -strparse "$tst_offset" -noout -out "$W/tstinfo.der"
cms_sign() { # cert key out
  openssl cms -sign -binary -nodetach -nosmimecap -md sha256 -outform DER \
    -econtent_type id-smime-ct-TSTInfo -in "$W/tstinfo.der" \
    -signer "$1" -inkey "$2" -out "$3"
}
cms_sign tsa-noeku.pem "$W/tsa-noeku.key" token-noeku.der
cms_sign tsa-rsa.pem "$W/tsa-rsa.key" token-resigned.der

rm -rf "$W" serial
echo "fixtures written to $(pwd); update GEN_TIME in tests/tsa.rs:"
openssl ts -reply -in token-rsa.der -token_in -text 2>/dev/null | grep 'Time stamp'

