#!/usr/bin/env python3
"""extract_test.py KENSA - deep extraction on the mails built by tests/fixtures/make_mails.py.

For each fixture: run `kensa scan --format json`, check that every expected (rule, object path)
pair is reported, that expected notes appear, and that the scan takes <= 5 s and <= 512 MB.
Prints one line per fixture with its time and peak memory. Exit 0 pass, 1 fail.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "fixtures", "extract.yar")
DEFS = ["-d", "filename=", "-d", "filepath=", "-d", "extension=", "-d", "filetype=", "-d", "owner="]

DOC = "ThisDocument"
CASES = {
    "direct.eml": {"match": [("vba_certutil_dropper", "direct.eml > [2] lecture.doc > VBA/" + DOC),
                             ("ole2_doc_by_externals", "direct.eml > [2] lecture.doc")]},
    "inzip.eml": {"match": [("vba_certutil_dropper", "inzip.eml > [2] agenda.zip > lecture.doc > VBA/" + DOC)]},
    "zipzip.eml": {"match": [("vba_certutil_dropper",
                              "zipzip.eml > [2] outer.zip > inner.zip > lecture.doc > VBA/" + DOC)]},
    "odd.eml": {"match": [("vba_certutil_dropper", "odd.eml > [2] 議事録.zip > lecture.doc > VBA/" + DOC),
                          ("vba_certutil_dropper", "odd.eml > [3] résumé.doc > VBA/" + DOC)]},
    "encrypted.eml": {"match": [("vba_certutil_dropper", "encrypted.eml > [2] 資料.zip > lecture.doc > VBA/" + DOC)],
                      "note": [("encrypted.eml > [2] 資料.zip", 'password: "Kx7-pQ2z" opened')],
                      "optional": True},
    "bomb.eml": {"match": [("lure_text", "bomb.eml > [2] report.zip > readme.txt")],
                 "note": [(None, "limit: ")]},
    "nested60.eml": {"match": [("lure_text", "nested60.eml > [3] beside.txt")],
                     "note": [(None, "limit: depth")]},
    "multipart100.eml": {"match": [("lure_text", "multipart100.eml > [1] text/plain")],
                         "note": [("multipart100.eml", "limit: mime-nesting")]},
    "truncated.eml": {"match": [("lure_text", "truncated.eml > [2] notes.txt")],
                      "note": [("truncated.eml", "parse-error: mime: truncated base64")]},
    "corrupt_ole.eml": {"match": [("vba_certutil_dropper", "corrupt_ole.eml > [3] ok.zip > lecture.doc > VBA/" + DOC)],
                        "note": [("corrupt_ole.eml > [2] broken.doc", "parse-error: ole2")]},
    "three.mbox": {"match": [("vba_certutil_dropper", "three.mbox > [3] message > [2] lecture.doc > VBA/" + DOC)]},
    "packed.eml": {"match": [("vba_certutil_dropper",
                              "packed.eml > [2] invoice.tar.gz > invoice.tar > invoice.docm > word/vbaProject.bin > VBA/" + DOC),
                             ("vba_certutil_dropper", "packed.eml > [3] lecture.doc.bz2 > lecture.doc > VBA/" + DOC),
                             ("vba_certutil_dropper", "packed.eml > [4] lecture.doc.xz > lecture.doc > VBA/" + DOC)]},
    "rtf.eml": {"match": [("vba_certutil_dropper",
                           "rtf.eml > [2] invite.rtf > object 1/Package/lecture.doc > VBA/" + DOC)]},
    "pdf.eml": {"match": [("lure_text", "pdf.eml > [2] invoice.pdf > obj 4"),
                          ("lure_text", "pdf.eml > [2] invoice.pdf > obj 8"),
                          ("lure_text", "pdf.eml > [2] invoice.pdf > obj 5/EmbeddedFile"),
                          ("pdf_js_marker", "pdf.eml > [2] invoice.pdf > obj 1/JS"),
                          ("pdf_js_marker", "pdf.eml > [2] invoice.pdf > obj 7/JavaScript")]},
    "uuencode.eml": {"match": [("vba_certutil_dropper", "uuencode.eml > [2] lecture.doc > VBA/" + DOC)]},
}


def main():
    kensa = sys.argv[1]
    failed = 0
    with tempfile.TemporaryDirectory() as td:
        subprocess.run([sys.executable, os.path.join(HERE, "fixtures", "make_mails.py"), td], check=True)
        for name, exp in CASES.items():
            path = os.path.join(td, name)
            if not os.path.exists(path):
                if exp.get("optional"):
                    print("SKIP %s (fixture not built: `zip` missing)" % name)
                    continue
                print("FAIL %s: fixture missing" % name)
                failed += 1
                continue
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t0 = time.monotonic()
            p = subprocess.run([kensa, "scan", "--format", "json", "-p", "1"] + DEFS + [RULES, name],
                               cwd=td, capture_output=True, timeout=60)
            dt = time.monotonic() - t0
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            problems = []
            if p.returncode != 0:
                problems.append("exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[:300]))
            try:
                doc = json.loads(p.stdout)
            except ValueError:
                doc = {"objects": [], "events": []}
                problems.append("bad json: %r" % p.stdout[:200])
            got = {(m["rule"], o["path"]) for o in doc["objects"] for m in o["matches"]}
            notes = [(e["path"], e["event"]) for e in doc["events"]]
            for rule, opath in exp.get("match", []):
                if (rule, opath) not in got:
                    problems.append("missing %s on %s" % (rule, opath))
            for npath, text in exp.get("note", []):
                if not any((npath is None or npath == q) and text in t for q, t in notes):
                    problems.append("missing note %r on %s" % (text, npath))
            if dt > 5:
                problems.append("took %.2f s" % dt)
            if rss > 512 * 1024 and rss > before:
                problems.append("peak RSS %d MB" % (rss // 1024))
            status = "FAIL" if problems else "ok  "
            print("%s %-18s %6.2f s  peak<=%4d MB  objects %4d  notes %d" %
                  (status, name, dt, rss // 1024, len(doc["objects"]), len(notes)))
            for pr in problems:
                print("     " + pr)
            if problems:
                failed += 1
                got_l = sorted(got)
                print("     got: %s" % got_l[:20])
                print("     notes: %s" % notes[:10])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
