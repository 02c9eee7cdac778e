#!/usr/bin/env python3
"""clamav_report.py WORK - the report of bench/clamav.sh (ClamAV next to kensa).

Reads what bench/clamav.sh left in WORK:
  rules.tsv          INDEX <tab> RULE_FILE (the rule files, in order)
  probe/INDEX.log    `clamscan --debug -d RULE_FILE` on an empty file (ClamAV's load messages)
  probe/INDEX.rc     its exit status
  kprobe.tsv         INDEX <tab> ok|fail <tab> first error line (kensa compiling each file alone)
  clam.out           `clamscan --allmatch ...` stdout;  clam.time: wall user sys maxrss_kb
  kensa.out          `kensa scan -r ...` stdout;        kensa.time, kensa.err (--print-notes)
  target             the scanned folder or file (prefix stripped from both outputs)
  meta               KEY=VALUE lines (versions, commands, mode)
and prints the report on stdout. Exit 0 when kensa found every (input file, rule) pair ClamAV
found, 3 otherwise.
"""
import collections
import os
import re
import sys


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


# ---------------------------------------------------------------- rule files
def rule_decls(text):
    """[(line, name, modifiers)] of the `rule NAME` declarations, skipping comments, text strings
    and regexes (their contents could look like declarations)."""
    out = []
    i, n, line = 0, len(text), 1
    prev = ""          # previous significant token, to tell a regex from a division
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            i = j
        elif c == '"' or (c == "/" and prev in ("=", "matches")):
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            prev = "literal"
        elif c.isalpha() or c == "_":
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, i)
            word = m.group(0)
            i = m.end()
            if word == "rule":
                m2 = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)").match(text, i)
                if m2:
                    out.append((line, m2.group(1), prev_mods(text, i - 4)))
                    line += text.count("\n", i, m2.end())
                    i = m2.end()
            prev = word
        else:
            prev = c
            i += 1
    return out


def prev_mods(text, pos):
    """`private` / `global` words right before the `rule` keyword at pos."""
    head = text[max(0, pos - 40):pos]
    m = re.search(r"((?:\b(?:private|global)\s+)*)$", head)
    return m.group(1).split() if m else []


def clam_load(log, rc, decls):
    """Per rule of one file: (loaded, reason). From clamscan --debug loading that file alone."""
    lines = log.splitlines()
    loaded = set()
    yyerrors = []          # (line, message)
    per_rule = collections.defaultdict(list)
    current = None
    culprit = None         # the rule ClamAV was loading when it gave up on the file
    file_error = ""
    for ln in lines:
        m = re.search(r"yyerror\(\): .* line (\d+) (.*)$", ln)
        if m:
            yyerrors.append((int(m.group(1)), m.group(2)))
            continue
        m = re.search(r"load_oneyara: attempting to load (\S+)", ln)
        if m:
            current = m.group(1)
            continue
        m = re.search(r"load_oneyara: successfully loaded YARA\.(\S+)", ln)
        if m:
            loaded.add(m.group(1))
            current = None
            continue
        m = re.search(r"cli_loadyara: problem parsing yara file .*, yara rule (\S+)$", ln)
        if m:
            culprit = m.group(1)
            continue
        if re.search(r"Can't load .*: (.*)$", ln) or ln.startswith("ERROR: "):
            if not file_error:
                file_error = re.sub(r"^.*(Can't load [^:]*: |ERROR: )", "", ln).strip()
                culprit = culprit or current
            continue
        if current and ("LibClamAV Error" in ln or "LibClamAV Warning" in ln):
            msg = re.sub(r"^LibClamAV (Error|Warning): ", "", ln).strip()
            if msg.startswith("cli_loadyara:"):
                continue
            msg = re.sub(r", skipping YARA\.\S+$", "", msg)
            per_rule[current].append(msg)
    if rc not in ("0", "1") and not file_error:
        file_error = "clamscan exit %s" % rc
    res = {}
    starts = [d[0] for d in decls]
    for k, (line, name, mods) in enumerate(decls):
        end = starts[k + 1] - 1 if k + 1 < len(decls) else 1 << 30
        if name in loaded and not file_error:
            res[name] = (True, "")
            continue
        why = []
        errs = [msg for (l, msg) in yyerrors if line <= l <= end]
        if errs:
            why.append("parse: " + "; ".join(errs))
        if per_rule.get(name):
            why.append("; ".join(dict.fromkeys(per_rule[name])))
        if file_error and name == culprit:
            why.append("ClamAV rejects the whole file for this rule (%s)" % file_error)
        elif file_error:
            why.append("%sfile rejected because of rule %s" % ("loaded, but " if name in loaded else "",
                                                              culprit or "?"))
        if not why:
            before = [(l, msg) for (l, msg) in yyerrors if l < line]
            why.append("no message" + (" (after the parse error at line %d: %s)" % before[-1]
                                       if before else ""))
        res[name] = (False, " | ".join(why))
    if file_error and culprit:
        file_error += " because of rule %s: %s" % (
            culprit, "; ".join(dict.fromkeys(per_rule.get(culprit, []))) or "?")
    return res, file_error


# ---------------------------------------------------------------- detections
def clam_pairs(out, target):
    pairs = collections.defaultdict(set)    # (input, rule) -> {""}
    other = []
    pre = target.rstrip("/") + "/"
    for ln in out.splitlines():
        if not ln.endswith(" FOUND"):
            continue
        m = re.match(r"^(.*): YARA\.([A-Za-z0-9_]+)\.UNOFFICIAL FOUND$", ln)
        if not m:
            other.append(ln)
            continue
        f = m.group(1)
        f = f[len(pre):] if f.startswith(pre) else (os.path.basename(f) if f == target else f)
        pairs[(f, m.group(2))].add("")
    return pairs, other


def kensa_pairs(out, target):
    pairs = collections.defaultdict(list)   # (input, rule) -> [object path inside the input]
    pre = target.rstrip("/") + "/"
    for ln in out.splitlines():
        m = re.match(r"^([A-Za-z0-9_]+) (.*)$", ln)
        if not m:
            continue
        rule, path = m.groups()
        top, sep, inner = path.partition(" > ")
        top = top[len(pre):] if top.startswith(pre) else (os.path.basename(top) if top == target else top)
        pairs[(top, rule)].append(inner)
    return pairs


def what(inner, notes_for_input):
    """What deep extraction had to do to reach this object (from its path)."""
    if not inner:
        return "the file's own bytes"
    tags = []
    p = inner
    if "VBA/" in p:
        tags.append("VBA module source (OLE2, decompressed)")
    if re.search(r"object \d+/", p):
        tags.append("RTF embedded object")
    if re.search(r"obj \d+/(JS|JavaScript)", p):
        tags.append("PDF JavaScript")
    elif re.search(r"obj \d+/EmbeddedFile", p):
        tags.append("PDF embedded file")
    elif re.search(r"obj \d+", p):
        tags.append("PDF object stream")
    if re.search(r"\.(zip|docm|xlsm|docx|jar)\b", p):
        tags.append("zip")
    if re.search(r"\.(tar|gz|tgz|bz2|xz|7z|rar|cab|iso)\b", p):
        tags.append("compressed/archive")
    if "> [" in p or "message" in p:
        tags.append("nested mail")
    for path, note in notes_for_input:
        if "password" in note and inner.startswith(path.partition(" > ")[2] or "\0"):
            tags.append("encrypted zip opened with a password from the mail text")
            break
    if not tags:
        tags.append("MIME part" if p.startswith("[") else "extracted object")
    return ", ".join(dict.fromkeys(tags))


def fmt_time(t):
    return "%.2f s wall, %.2f s user, %.2f s sys, peak RSS %.0f MB" % (
        t["wall"], t["user"], t["sys"], t["rss"] / 1024.0)


def parse_time(path):
    vals = read(path).split()
    if len(vals) < 4:
        return None
    return {"wall": float(vals[0]), "user": float(vals[1]), "sys": float(vals[2]),
            "rss": float(vals[3])}


def main():
    work = sys.argv[1]
    meta = dict(l.split("=", 1) for l in read(os.path.join(work, "meta")).splitlines() if "=" in l)
    target = read(os.path.join(work, "target")).strip()
    files = [l.split("\t", 1) for l in read(os.path.join(work, "rules.tsv")).splitlines() if l]
    kprobe = {}
    for l in read(os.path.join(work, "kprobe.tsv")).splitlines():
        parts = l.split("\t")
        if len(parts) >= 2:
            kprobe[parts[0]] = (parts[1] == "ok", parts[2] if len(parts) > 2 else "")

    # --- detections
    cp, other = clam_pairs(read(os.path.join(work, "clam.out")), target)
    asis, _ = clam_pairs(read(os.path.join(work, "clam_asis.out")), target)
    for k in asis:              # what ClamAV found before rules were left out counts as well
        cp.setdefault(k, set()).add("")
    kp = kensa_pairs(read(os.path.join(work, "kensa.out")), target)
    notes = collections.defaultdict(list)
    for ln in read(os.path.join(work, "kensa.err")).splitlines():
        m = re.match(r"^note: (.*?): (.*)$", ln)
        if m:
            p = m.group(1)
            pre = target.rstrip("/") + "/"
            p = p[len(pre):] if p.startswith(pre) else p
            notes[p.partition(" > ")[0]].append((p, m.group(2)))
    # --- what ClamAV (and kensa) loaded
    total = loaded_n = 0
    failed = []            # (file, rule, reason)
    rejected_files = []    # (file, reason, rules)
    clam_loaded = set()
    private = set()
    kensa_failed_files = []
    evalbad = [l for l in read(os.path.join(work, "evalbad.txt")).splitlines() if l]
    for idx, path in files:
        decls = rule_decls(read(path))
        for _, name, mods in decls:
            if "private" in mods:
                private.add(name)
        probe = os.path.join(work, "probe", idx)
        res, ferr = clam_load(read(probe + ".log"), read(probe + ".rc").strip(), decls)
        if ferr:
            stripped = [l for l in read(probe + ".stripped").splitlines() if l]
            after = ""
            if os.path.exists(probe + ".s.log"):
                decls2 = rule_decls(read(probe + ".yar"))
                res2, ferr2 = clam_load(read(probe + ".s.log"), read(probe + ".s.rc").strip(), decls2)
                if not ferr2:
                    after = ("accepted after leaving out %s (%d of its rules loaded)"
                             % (", ".join(stripped), sum(1 for v in res2.values() if v[0])))
                    for name, (ok, why) in res2.items():
                        res[name] = (ok, why) if (ok or why) else res[name]
                else:
                    after = "still rejected after leaving out %s" % ", ".join(stripped)
            rejected_files.append((path, ferr, len(decls), after))
        for name in evalbad:
            if name in res and res[name][0]:
                res[name] = (False, "loaded, but ClamAV cannot evaluate it ('error executing yara "
                                    "rule': the object's YARA evaluation stops, no rule matches "
                                    "it); left out of the scans")
        for _, name, _ in decls:
            total += 1
            ok, why = res[name]
            if ok:
                loaded_n += 1
                clam_loaded.add(name)
            else:
                failed.append((path, name, why))
        if idx in kprobe and not kprobe[idx][0]:
            kensa_failed_files.append((path, kprobe[idx][1], len(decls)))

    missed = sorted(set(cp) - set(kp))
    only_k = sorted(set(kp) - set(cp))
    both = sorted(set(cp) & set(kp))
    ct, kt = parse_time(os.path.join(work, "clam.time")), parse_time(os.path.join(work, "kensa.time"))
    kensa_errors = [l for l in read(os.path.join(work, "kensa.err")).splitlines()
                    if l.startswith("error")]
    loadmsg = re.compile(r"yyerror|load_?one_?yara|cli_loadyara|cli_ac_addsig|cli_add_content_match|"
                         r"parse_yara_hex_string|cli_loaddb|Malformed database|Can't load")
    clam_errors = [l for l in read(os.path.join(work, "clam.err")).splitlines()
                   if ("ERROR" in l or "Error" in l) and not loadmsg.search(l)]

    w = sys.stdout.write
    w("== ClamAV next to kensa: same inputs, same rules (%s)\n" % meta.get("date", ""))
    w("ClamAV: %s\nkensa:  %s\n" % (meta.get("clam_version", "?"), meta.get("kensa_version", "?")))
    w("inputs: %s (%s files, %s)\n" % (meta.get("target_label", target), meta.get("nfiles", "?"),
                                        meta.get("target_size", "?")))
    w("rules:  %s rule files, %d rules (%s)\n" % (len(files), total, meta.get("rules_label", "")))
    w("clamscan: %s\n" % meta.get("clam_cmd", ""))
    w("kensa:    %s\n" % meta.get("kensa_cmd", ""))
    w("machine: %s; times are the best of %s runs, each including rule loading/compiling\n"
      % (meta.get("machine", "?"), meta.get("repeat", "1")))

    w("\n== rules\n")
    w("ClamAV loaded %d of %d rules; %d failed to load or were skipped%s\n" % (
        loaded_n, total, len(failed),
        (", %d of them because ClamAV rejected their whole file (%d files)" %
         (sum(1 for f in failed if "file rejected because" in f[2] or "whole file" in f[2]),
          len(rejected_files))) if rejected_files else ""))
    if kensa_failed_files:
        w("kensa could not compile %d rule files (kensa scans without them; ClamAV keeps what it "
          "loads of them, so their matches count as kensa misses):\n" % len(kensa_failed_files))
        for path, err, n in kensa_failed_files:
            w("  %s (%d rules): %s\n" % (path, n, err))
    if rejected_files:
        w("rule files ClamAV rejects entirely (\"Malformed database\"; ClamAV 1.x rejects a file "
          "when its last rule fails to load):\n")
        for path, err, n, after in rejected_files:
            w("  %s (%d rules): %s\n      -> %s\n" % (os.path.basename(path), n, err,
                                                     after or "left out of ClamAV's database"))
    if evalbad:
        w("rules ClamAV loads but cannot evaluate, even in the cleaned database (left out): %s\n"
          % ", ".join(evalbad))
    reasons = collections.Counter()
    for _, _, why in failed:
        key = re.sub(r'"[^"]*"', '"X"', why)
        key = re.sub(r"\$\w+", "$x", key)
        key = re.sub(r"line \d+", "line N", key)
        key = re.sub(r"\d+", "N", key)
        reasons[key] += 1
    if failed:
        w("reasons (counts):\n")
        for r, c in reasons.most_common():
            w("  %5d  %s\n" % (c, r))
        w("rules ClamAV failed to load (file: rule: reason):\n")
        limit = int(meta.get("list_limit", "1000000"))
        for path, name, why in failed[:limit]:
            w("  %s: %s: %s\n" % (os.path.basename(path), name, why))
        if len(failed) > limit:
            w("  ... %d more in the report file\n" % (len(failed) - limit))

    w("\n== detections (input file, rule)\n")
    cf = {f for f, _ in cp}
    kf = {f for f, _ in kp}
    everr = int((read(os.path.join(work, "clam_asis.everr")).strip() or "0"))
    w("ClamAV, rule files as is:   %d pairs in %d files; %d YARA evaluation errors (\"error "
      "executing yara rule\": the object's YARA evaluation stops, nothing matches it)\n"
      % (len(asis), len({f for f, _ in asis}), everr))
    w("ClamAV, without the rules it fails to load (the comparison below, and the timing):\n")
    w("ClamAV: %d pairs in %d files" % (len(cp), len(cf)))
    w("%s\n" % ((" (+%d non-YARA alerts)" % len(other)) if other else ""))
    w("kensa:  %d pairs in %d files (%d rule matches on objects inside them)\n" % (
        len(kp), len(kf), sum(len(v) for v in kp.values())))
    w("both:   %d pairs; only ClamAV: %d; only kensa: %d\n" % (len(both), len(missed), len(only_k)))
    only_k_loaded = [p for p in only_k if p[1] in clam_loaded]
    w("of the kensa-only pairs, %d are of rules ClamAV loaded (found by deep extraction or "
      "semantics) and %d of rules ClamAV could not load\n" % (len(only_k_loaded),
                                                                len(only_k) - len(only_k_loaded)))
    if ct and kt:
        w("\n== time\n")
        w("ClamAV: %s\n" % fmt_time(ct))
        w("kensa:  %s\n" % fmt_time(kt))
        w("ratio (ClamAV / kensa): wall %.2fx, user %.2fx\n" % (
            ct["wall"] / max(kt["wall"], 1e-3), ct["user"] / max(kt["user"], 1e-3)))
    if clam_errors or kensa_errors:
        w("scan errors (rule loading messages left out): ClamAV %d, kensa %d\n" % (len(clam_errors), len(kensa_errors)))
        for l in (clam_errors + kensa_errors)[:20]:
            w("  %s\n" % l)

    w("\n== pairs ClamAV found that kensa missed: %d\n" % len(missed))
    for f, r in missed:
        why = ""
        if r in private:
            why = " (a private rule)"
        w("  MISSED %s: %s%s\n" % (f, r, why))

    w("\n== pairs only kensa found: %d (object paths inside the input)\n" % len(only_k))
    for f, r in only_k:
        objs = kp[(f, r)]
        tag = "" if r in clam_loaded else "   [rule not loaded by ClamAV]"
        w("  %s: %s%s\n" % (f, r, tag))
        for o in objs[:6]:
            w("      %s   <- %s\n" % (f + (" > " + o if o else ""), what(o, notes[f])))
        if len(objs) > 6:
            w("      ... %d more objects\n" % (len(objs) - 6))
    w("\n== pairs both found: where kensa found them\n")
    for f, r in both:
        w("  %s: %s -> %s\n" % (f, r, "; ".join((o or "(the file itself)") for o in kp[(f, r)][:4])
                                + (" ..." if len(kp[(f, r)]) > 4 else "")))

    w("\n== summary\n")
    para = ("On %s (%s files) with %d rules from %d rule files, %s (`--allmatch`, mail, "
            "OLE2, archive, PDF and HTML scanning on) loaded %d rules and failed to load %d; it "
            "reported %d (file, rule) pairs in %d files, kensa (extraction on) %d pairs in %d files. "
            % (meta.get("target_label", target), meta.get("nfiles", "?"), total, len(files),
               meta.get("clam_version_short", ""), loaded_n, len(failed), len(cp), len(cf), len(kp),
               len(kf)))
    if everr:
        para += ("With the rule files as given, ClamAV's scan reported %d pairs: %d YARA evaluation "
                 "errors (\"error executing yara rule\" - a rule ClamAV fails to parse can leave "
                 "code behind that breaks the next rule, and the error ends the YARA evaluation of "
                 "the object) - the figures are those of a cleaned copy without the rules ClamAV "
                 "does not load. " % (len(asis), everr))
    para += ("kensa found %s of ClamAV's pairs%s, and %d more: %d with rules ClamAV loaded "
             "(matches that need deep extraction or YARA semantics ClamAV does not have) and %d with "
             "rules it could not load. " % (
                 "all" if not missed else "%d of %d" % (len(both), len(cp)),
                 "" if not missed else " (MISSED: %d)" % len(missed), len(only_k),
                 len(only_k_loaded), len(only_k) - len(only_k_loaded)))
    if ct and kt:
        para += ("Time including rule loading: ClamAV %.2f s wall / %.2f s user, kensa %.2f s / "
                 "%.2f s (ClamAV/kensa %.2fx wall); peak RSS %.0f MB vs %.0f MB." % (
                     ct["wall"], ct["user"], kt["wall"], kt["user"],
                     ct["wall"] / max(kt["wall"], 1e-3), ct["rss"] / 1024.0, kt["rss"] / 1024.0))
    import textwrap
    w(textwrap.fill(para, 100) + "\n")
    return 3 if missed else 0


def strip_rules(path, names):
    """Remove the rules NAMES from the file (declaration line up to the next declaration)."""
    text = read(path)
    lines = text.splitlines(True)
    decls = rule_decls(text)
    cut = set()
    for k, (line, name, _) in enumerate(decls):
        if name in names:
            end = decls[k + 1][0] - 1 if k + 1 < len(decls) else len(lines)
            cut.update(range(line - 1, end))
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("".join(l for i, l in enumerate(lines) if i not in cut))


def tool():
    """Helpers for clamav.sh: culprit LOG | strip FILE RULE... | evalerrors LOG | unloaded LOG FILE"""
    cmd = sys.argv[1]
    if cmd == "culprit":        # the rule that made ClamAV reject a file
        culprit, current = None, None
        for ln in read(sys.argv[2]).splitlines():
            m = re.search(r"load_oneyara: attempting to load (\S+)", ln)
            if m:
                current = m.group(1)
            m = re.search(r"cli_loadyara: problem parsing yara file .*, yara rule (\S+)$", ln)
            if m:
                culprit = m.group(1)
            if re.search(r"Can't load |^ERROR: ", ln):
                print(culprit or current or "")
                return 0
        return 0
    if cmd == "unloaded":       # rules of FILE that the probe LOG did not load
        loaded = set(re.findall(r"successfully loaded YARA\.(\S+)", read(sys.argv[2])))
        for _, name, _ in rule_decls(read(sys.argv[3])):
            if name not in loaded:
                print(name)
        return 0
    if cmd == "strip":
        strip_rules(sys.argv[2], set(sys.argv[3:]))
        return 0
    if cmd == "evalerrors":     # rules whose evaluation fails ("error executing yara rule")
        bad, current = [], None
        for ln in read(sys.argv[2]).splitlines():
            m = re.search(r"beginning execution for lsig \d+ \(YARA\.(\S+)\.UNOFFICIAL\)", ln)
            if m:
                current = m.group(1)
            elif "error executing yara rule" in ln and current and current not in bad:
                bad.append(current)
        for b in bad:
            print(b)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(tool() if len(sys.argv) > 2 and sys.argv[1] in ("culprit", "strip", "evalerrors", "unloaded")
             else main())
