"""Independent check of an RFC 4998 EvidenceRecord (tests/ers.rs).

Decodes the record with pyasn1-alt-modules' RFC 4998 module (not our Rust
code), checks that it re-encodes to the same DER, recomputes every archive
timestamp's hash-tree root from the bundle's data objects as RFC 4998
sections 4.3, 5.2 and 5.3 say, and writes each timestamp's token to
OUTDIR/token-K-J.der with one line "K J ALG ROOTHEX PATH" per token, for
`openssl ts -verify -digest ROOTHEX` to check.

usage: decode.py RECORD.der BUNDLE.json OUTDIR
"""
import base64
import hashlib
import json
import sys

from pyasn1.codec.der import decoder, encoder
from pyasn1_alt_modules import rfc4998

ALGS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "2.16.840.1.101.3.4.2.10": "sha3_512",
    "1.2.156.10197.1.401": "sm3",
}


def h(alg, data):
    return hashlib.new(alg, data).digest()


def node(alg, values):
    return h(alg, b"".join(sorted(values)))


def canonical(value):
    # RFC 8785 for what a bundle holds (strings, integers, arrays, objects):
    # keys sorted, no whitespace, UTF-8, JSON escapes only where required.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def main(record_path, bundle_path, outdir):
    der = open(record_path, "rb").read()
    record, rest = decoder.decode(der, asn1Spec=rfc4998.EvidenceRecord())
    assert not rest, "bytes after the record"
    assert encoder.encode(record) == der, "not DER: re-encoding differs"
    assert int(record["version"]) == 1
    listed = {str(a["algorithm"]) for a in record["digestAlgorithms"]}
    bundle = json.load(open(bundle_path, encoding="utf-8"))
    objects = [canonical(bundle)] + [base64.b64decode(e["leaf"]) for e in bundle["entries"]]
    seq = record["archiveTimeStampSequence"]
    for k, chain in enumerate(seq):
        for j, ats in enumerate(chain):
            oid = str(ats["digestAlgorithm"]["algorithm"])
            assert oid in listed, "algorithm not in digestAlgorithms"
            alg = ALGS[oid]
            if j == 0 and k == 0:
                covered = [h(alg, d) for d in objects]
            elif j == 0:
                before = rfc4998.ArchiveTimeStampSequence()
                for i, c in enumerate(list(seq)[:k]):
                    before.setComponentByPosition(i, c)
                ha = h(alg, encoder.encode(before))
                covered = [h(alg, h(alg, d) + ha) for d in objects]
            else:
                covered = [h(alg, encoder.encode(chain[j - 1]["timeStamp"]))]
            tree = ats["reducedHashtree"]
            lists = [[bytes(v) for v in l] for l in tree] if tree.isValue else []
            if lists:
                assert all(c in lists[0] for c in covered), f"chain {k} ats {j}: not covered"
                root = node(alg, lists[0])
                for l in lists[1:]:
                    root = node(alg, l + [root])
            else:
                assert len(covered) == 1
                root = covered[0]
            path = f"{outdir}/token-{k}-{j}.der"
            open(path, "wb").write(encoder.encode(ats["timeStamp"]))
            print(k, j, alg, root.hex(), path)


if __name__ == "__main__":
    main(*sys.argv[1:4])
