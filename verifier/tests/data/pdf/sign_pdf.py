"""Signs a PDF with pyHanko for verifier/tests/pdf.rs (an incremental update).

usage: python3 sign_pdf.py IN OUT --key KEY.pem --cert CERT.pem
           [--chain CA.pem ...] --field NAME [--pkcs7]
           [--tsa-dir DIR]   # timestamp the signature with `openssl ts -reply`
                              # run in DIR (tsa.cnf, section tsa_rsa)

PAdES (ETSI.CAdES.detached) by default, adbe.pkcs7.detached with --pkcs7.
With --tsa-dir the signature gets an RFC 3161 signature timestamp (PAdES
B-T) from a real TSA: OpenSSL, asked through pyHanko's TimeStamper
interface instead of HTTP.
"""

import argparse
import subprocess
import tempfile
from pathlib import Path

from asn1crypto import tsp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper


class OpensslTimeStamper(TimeStamper):
    """A TSA that is `openssl ts -reply -config tsa.cnf -section tsa_rsa`."""

    def __init__(self, tsa_dir):
        super().__init__()
        self.tsa_dir = Path(tsa_dir)

    async def async_request_tsa_response(self, req):
        with tempfile.TemporaryDirectory() as tmp:
            query, reply = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            query.write_bytes(req.dump())
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", "tsa.cnf", "-section",
                 "tsa_rsa", "-queryfile", str(query), "-out", str(reply)],
                cwd=self.tsa_dir, check=True, capture_output=True)
            return tsp.TimeStampResp.load(reply.read_bytes())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--chain", action="append", default=[])
    p.add_argument("--field", required=True)
    p.add_argument("--pkcs7", action="store_true")
    p.add_argument("--tsa-dir")
    a = p.parse_args()
    signer = signers.SimpleSigner.load(a.key, a.cert, ca_chain_files=tuple(a.chain))
    subfilter = (fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED if a.pkcs7
                 else fields.SigSeedSubFilter.PADES)
    meta = signers.PdfSignatureMetadata(field_name=a.field, subfilter=subfilter)
    timestamper = OpensslTimeStamper(a.tsa_dir) if a.tsa_dir else None
    with open(a.input, "rb") as inf, open(a.output, "wb") as outf:
        writer = IncrementalPdfFileWriter(inf)
        signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper, output=outf)


if __name__ == "__main__":
    main()
