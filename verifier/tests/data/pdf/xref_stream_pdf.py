"""Writes a one-page PDF with pyHanko's own writer, for verifier/tests/pdf.rs.

usage: python3 xref_stream_pdf.py OUT

Unlike the hand-written PDF of the tests (a classic xref table), this one
has what PDF 1.5 writers produce: a cross-reference stream (FlateDecode)
and the page object inside an object stream (ISO 32000-1 §7.5.7, §7.5.8).
pyHanko then signs it in incremental updates of the same kind.
"""

import sys

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter


def main():
    n = generic.NameObject
    w = PdfFileWriter(stream_xrefs=True)
    objstm = w.prepare_object_stream()
    content = generic.StreamObject(stream_data=b"BT /F1 12 Tf 20 100 Td (contract) Tj ET")
    content_ref = w.add_object(content)
    pages_ref = w.root.raw_get("/Pages")
    page = generic.DictionaryObject({
        n("/Type"): n("/Page"),
        n("/Parent"): pages_ref,
        n("/MediaBox"): generic.ArrayObject([generic.NumberObject(x) for x in (0, 0, 200, 200)]),
        n("/Contents"): content_ref,
    })
    page_ref = w.add_object(page, obj_stream=objstm)
    pages = pages_ref.get_object()
    pages[n("/Kids")] = generic.ArrayObject([page_ref])
    pages[n("/Count")] = generic.NumberObject(1)
    with open(sys.argv[1], "wb") as out:
        w.write(out)


if __name__ == "__main__":
    main()
