#!/usr/bin/env python3
"""extract_test.py KENSA - deep extraction on the mails built by tests/fixtures/make_mails.py.

For each fixture: run `kensa scan --format json`, check that every expected (rule, object path)
pair is reported, that expected notes appear, and that the scan takes <= 5 s and <= 512 MB.
Prints one line per fixture with its time and peak memory. Then spill_check(): the peak RSS of
spill.eml with and without spilling to temporary files. Exit 0 pass, 1 fail.
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
MSG = "msg.eml > [2] forward.msg > "
TNEF = "tnef.eml > [2] winmail.dat > "
CASES = {
    "direct.eml": {"match": [("vba_certutil_dropper", "direct.eml > [2] lecture.doc > VBA/" + DOC),
                             ("ole2_doc_by_externals", "direct.eml > [2] lecture.doc")],
                   "absent": [("kensa_vba_in_zip", "direct.eml > [2] lecture.doc > VBA/" + DOC)]},
    "inzip.eml": {"match": [("vba_certutil_dropper", "inzip.eml > [2] agenda.zip > lecture.doc > VBA/" + DOC),
                            ("kensa_vba_in_zip", "inzip.eml > [2] agenda.zip > lecture.doc > VBA/" + DOC)]},
    "zipzip.eml": {"match": [("vba_certutil_dropper",
                              "zipzip.eml > [2] outer.zip > inner.zip > lecture.doc > VBA/" + DOC),
                             ("kensa_vba_in_zip",
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
    "msg.eml": {"match": [("vba_certutil_dropper", MSG + "[attach 1] lecture.doc > VBA/" + DOC),
                          ("vba_certutil_dropper", MSG + "[attach 2] agenda.zip > lecture.doc > VBA/" + DOC),
                          ("vba_certutil_dropper", MSG + "[attach 3] forwarded.msg > [attach 1] inner-lecture.doc > VBA/" + DOC),
                          ("vba_certutil_dropper", MSG + "[attach 4] Document > VBA/" + DOC),
                          ("lure_text", MSG + "body.txt"), ("lure_text", MSG + "body.html"),
                          ("lure_text", MSG + "body.rtf"),
                          ("lure_text", MSG + "[attach 3] forwarded.msg > body.txt"),
                          ("outlook_filetype", "msg.eml > [2] forward.msg"),
                          ("outlook_filetype", MSG + "[attach 3] forwarded.msg")]},
    "tnef.eml": {"match": [("vba_certutil_dropper", TNEF + "[attach 1] lecture.doc > VBA/" + DOC),
                           ("vba_certutil_dropper", TNEF + "[attach 3] Fwd: report > [attach 1] report.doc > VBA/" + DOC),
                           ("lure_text", TNEF + "[attach 2] notes.txt"), ("lure_text", TNEF + "body.txt"),
                           ("lure_text", TNEF + "props/body.txt"), ("lure_text", TNEF + "props/body.html"),
                           ("lure_text", TNEF + "props/body.rtf"),
                           ("outlook_filetype", "tnef.eml > [2] winmail.dat"),
                           ("outlook_filetype", TNEF + "[attach 3] Fwd: report")]},
    "msg_broken.eml": {"match": [("vba_certutil_dropper", "msg_broken.eml > [2] broken.msg > [attach 2] lecture.doc > VBA/" + DOC),
                                 ("lure_text", "msg_broken.eml > [2] broken.msg > body.rtf")],
                       "note": [("msg_broken.eml > [2] broken.msg", "parse-error: msg: attachment 1: stream truncated"),
                                ("msg_broken.eml > [2] broken.msg", "CRC mismatch")]},
    "tnef_broken.eml": {"match": [("vba_certutil_dropper", "tnef_broken.eml > [2] winmail.dat > [attach 1] lecture.doc > VBA/" + DOC),
                                  ("lure_text", "tnef_broken.eml > [2] winmail.dat > props/body.rtf")],
                        "note": [("tnef_broken.eml > [2] winmail.dat", "parse-error: tnef: checksum mismatch"),
                                 ("tnef_broken.eml > [2] winmail.dat", "parse-error: tnef: property count too large"),
                                 ("tnef_broken.eml > [2] winmail.dat", "parse-error: tnef: attribute truncated")]},
    "msg_password.eml": {"match": [("vba_certutil_dropper", "msg_password.eml > [2] docs.msg > [attach 1] docs.zip > lecture.doc > VBA/" + DOC)],
                         "note": [("msg_password.eml > [2] docs.msg > [attach 1] docs.zip", 'password: "Rt4-x9qM" opened')],
                         "optional": True},
    # tests/fixtures/spill_charset.py: passwords in ISO-2022-JP / Shift_JIS bodies and an RFC 2047
    # subject; a ~60 MB object spilled to temporary files (its memory: spill_check below)
    "jis.eml": {"match": [("lure_text", "jis.eml > [2] 資料.zip > lure.txt")],
                "note": [("jis.eml > [2] 資料.zip", 'password: "Kensa2026" opened')], "optional": True},
    "sjis.eml": {"match": [("lure_text", "sjis.eml > [2] 資料.zip > lure.txt")],
                 "note": [("sjis.eml > [2] 資料.zip", 'password: "Kensa2026" opened')], "optional": True},
    "subject.eml": {"match": [("lure_text", "subject.eml > [2] 資料.zip > lure.txt")],
                    "note": [("subject.eml > [2] 資料.zip", 'password: "Kensa2026" opened')],
                    "optional": True},
    "spill.eml": {"match": [("lure_text", "spill.eml > [2] big.zip > readme.txt"),
                            ("lure_text", "spill.eml > [2] big.zip > inner.zip > inner-lure.txt")],
                  "max_seconds": 15},   # 120 MB hashed, scanned and written to files (ASan: ~4 s)
    # tests/fixtures/xlmdde.py: XLM macro sheets and DDE fields
    "xlm.eml": {"match": [("xlm_exec_calc", "xlm.eml > [2] budget.xls > XLM/Macro1"),
                          ("xlm_urldownload", "xlm.eml > [2] budget.xls > XLM/Macro1"),
                          ("dde_link_cmd", "xlm.eml > [2] budget.xls > DDE/1"),
                          ("xlm_exec_calc", "xlm.eml > [3] broken.xls > XLM/Macro2"),
                          ("xlm_exec_calc", "xlm.eml > [4] macro.xlsm > xl/macrosheets/sheet1.xml > XLM/sheet1.xml")],
                "note": [("xlm.eml > [2] budget.xls", 'xlm: macro sheet "Macro1" (very hidden)'),
                         ("xlm.eml > [2] budget.xls", "xlm: Auto_Open -> Macro1!$A$1"),
                         ("xlm.eml > [3] broken.xls", 'parse-error: xlm: sheet "Ghost": no BOF'),
                         ("xlm.eml > [3] broken.xls", "truncated"),
                         ("xlm.eml > [4] macro.xlsm > xl/macrosheets/sheet1.xml",
                          "xlm: macro sheet xl/macrosheets/sheet1.xml"),
                         ("xlm.eml > [4] macro.xlsm > xl/workbook.xml", "xlm: Auto_Open -> Macro1!$A$1")]},
    "dde.eml": {"match": [("dde_auto_cmd", "dde.eml > [2] letter.docx > word/document.xml > DDE/1"),
                          ("dde_quote_notepad", "dde.eml > [2] letter.docx > word/document.xml > DDE/2"),
                          ("remote_include", "dde.eml > [2] letter.docx > word/document.xml > DDE/3"),
                          ("dde_auto_cmd", "dde.eml > [2] letter.docx > word/header1.xml > DDE/1"),
                          ("dde_auto_cmd", "dde.eml > [3] memo.rtf > DDE/1"),
                          ("dde_link_cmd", "dde.eml > [4] sheet.xlsx > xl/externalLinks/externalLink1.xml > DDE/1"),
                          ("dde_link_cmd", "dde.eml > [4] sheet.xlsx > xl/worksheets/sheet1.xml > DDE/1"),
                          ("dde_link_cmd", "dde.eml > [5] data.csv > DDE/1"),
                          ("dde_auto_cmd", "dde.eml > [6] old.doc > DDE/1"),
                          ("dde_auto_cmd", "dde.eml > [6] old.doc > DDE/2")],
                "note": [("dde.eml > [2] letter.docx > word/document.xml",
                          'dde: DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"'),
                         ("dde.eml > [2] letter.docx > word/header1.xml", "parse-error: dde: unterminated field")]},
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
            for rule, opath in exp.get("absent", []):
                if (rule, opath) in got:
                    problems.append("unexpected %s on %s" % (rule, opath))
            if dt > exp.get("max_seconds", 5):
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
        for pr in spill_check(kensa, td):
            print("FAIL spill: " + pr)
            failed += 1
    return 1 if failed else 0


def peak_rss_kb(cmd, cwd):
    """Run cmd; its exit code, stdout and its own peak RSS in KB (wait4: this child only)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return p.returncode, out.read(), ru.ru_maxrss


def spill_check(kensa, td):
    """spill.eml: a path holding a ~60 MB zip and its ~60 MB entry. Kept in memory (with
    --spill-threshold 0) the peak is both; spilled (default 16 MB threshold) it is about the one
    object being scanned plus the threshold. Compared with a small mail (inzip.eml) in the same
    run; the bounds apply to builds without ASan (its allocator keeps freed memory)."""
    if not os.path.exists(os.path.join(td, "spill.eml")):
        return ["spill.eml missing"]
    cmd = [kensa, "scan", "-p", "1"] + DEFS + [RULES]
    _, _, small = peak_rss_kb(cmd + ["inzip.eml"], td)
    rc, out, spill = peak_rss_kb(cmd + ["spill.eml"], td)
    _, _, mem = peak_rss_kb(cmd[:2] + ["--spill-threshold", "0"] + cmd[2:] + ["spill.eml"], td)
    with open(kensa, "rb") as f:
        asan = b"__asan_init" in f.read()
    print("spill.eml peak RSS: %d MB spilled, %d MB in memory (--spill-threshold 0), "
          "%d MB for a small mail%s" % (spill // 1024, mem // 1024, small // 1024,
                                         " (ASan build: not checked)" if asan else ""))
    problems = []
    if rc != 0 or b"inner-lure.txt" not in out:
        problems.append("exit %d, lure not found" % rc)
    if not asan:
        if spill - small > 100 * 1024:
            problems.append("spilled peak %d MB over the small mail" % ((spill - small) // 1024))
        if spill + 30 * 1024 > mem:
            problems.append("spilled peak %d MB not 30 MB below in-memory %d MB" %
                            (spill // 1024, mem // 1024))
    return problems


if __name__ == "__main__":
    sys.exit(main())
