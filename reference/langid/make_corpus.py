#!/usr/bin/python3
"""Builds the labelled language-ID corpus from text shipped in Debian packages.

Sources (install first):
  apt-get install -y fortunes fortunes-de fortunes-es fortunes-it fortunes-pl fortunes-ru fortunes-cs fortunes-br \
      manpages manpages-fr manpages-nl manpages-de manpages-es manpages-it manpages-pl manpages-ru manpages-cs manpages-pt-br
Fortune cookies (split on '%' lines) give conversational text; man pages (roff macros and escapes stripped)
give expository text. French and Dutch have no fortunes package, so they come from man pages only.
Output: JSONL {"text","language","source"} paragraphs, split 90/10 train/test by a hash of the text
(deterministic), capped per language so classes stay balanced.

Usage: /usr/bin/python3 reference/langid/make_corpus.py OUT_DIR [MAX_CHARS_PER_LANG]
"""
import gzip, hashlib, json, os, re, subprocess, sys

LANGS = {
    "en": (["fortunes"], "manpages", None),
    "de": (["fortunes-de"], "manpages-de", "de"),
    "es": (["fortunes-es"], "manpages-es", "es"),
    "fr": ([], "manpages-fr", "fr"),
    "it": (["fortunes-it"], "manpages-it", "it"),
    "pl": (["fortunes-pl"], "manpages-pl", "pl"),
    "ru": (["fortunes-ru"], "manpages-ru", "ru"),
    "cs": (["fortunes-cs"], "manpages-cs", "cs"),
    "pt": (["fortunes-br"], "manpages-pt-br", "pt_BR"),
    "nl": ([], "manpages-nl", "nl"),
}

def pkg_files(pkg):
    out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True).stdout.split("\n")
    return sorted(f for f in out if os.path.isfile(f))

def decode(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")

def fortunes(pkg):
    for f in pkg_files(pkg):
        if "/games/fortunes/" not in f or f.endswith((".dat", ".u8")) or os.path.islink(f):
            continue
        if pkg == "fortunes-cs" and ("-sk" in f or "/sk" in f):  # Slovak, not Czech
            continue
        if pkg == "fortunes" and not re.search(r"/fortunes/[a-z-]+$", f):
            continue
        text = decode(open(f, "rb").read())
        for cookie in re.split(r"\n%\n", text):
            lines = [l.strip() for l in cookie.split("\n") if l.strip() and not l.strip().startswith("--")]
            yield " ".join(lines), "fortune"

ROFF_ESC = re.compile(r"\\f[BIRP1-4]|\\f\(..|\\f\[[^\]]*\]|\\s[+-]?\d+|\\\(..|\\\[[^\]]*\]|\\[&|^%:e-]|\\\*.|\\\*\(..|\\c")

def manpages(pkg, locale):
    for f in pkg_files(pkg):
        if "/man/" not in f or not f.endswith(".gz"):
            continue
        if locale is None and re.search(r"/man/[a-z][a-z](_[A-Z][A-Z])?[./]", f):
            continue
        if locale is not None and f"/man/{locale}/" not in f:
            continue
        try:
            src = decode(gzip.open(f).read())
        except Exception:
            continue
        para = []
        for line in src.split("\n"):
            if line.startswith((".", "'")):
                if re.match(r"^\.(PP|LP|P|SH|SS|TP|IP|HP|br|sp|RS|RE|TH|nf|fi|EX|EE)\b", line) and para:
                    yield " ".join(para), "man"
                    para = []
                continue
            t = ROFF_ESC.sub("", line).replace("\\-", "-").replace("\\ ", " ").replace("\\", "").strip()
            if t:
                para.append(t)
        if para:
            yield " ".join(para), "man"

EN_STOP = set("the is of and to a in that for with are be this it by on as or if not an which".split())

def looks_english(text):
    """Localised man pages keep some paragraphs untranslated: drop those from non-English classes."""
    words = re.findall(r"[a-zA-Z]+", text.lower())
    return len(words) >= 5 and sum(w in EN_STOP for w in words) / len(words) > 0.12

def main():
    out_dir = sys.argv[1]
    cap = int(sys.argv[2]) if len(sys.argv) > 2 else 1_500_000
    os.makedirs(out_dir, exist_ok=True)
    train = open(os.path.join(out_dir, "train.jsonl"), "w", encoding="utf-8")
    test = open(os.path.join(out_dir, "test.jsonl"), "w", encoding="utf-8")
    for lang, (fpkgs, mpkg, locale) in LANGS.items():
        items = []
        for p in fpkgs:
            items += list(fortunes(p))
        items += list(manpages(mpkg, locale))
        seen, kept, chars = set(), [], 0
        # Interleave sources by hash order so the cap keeps a mix of fortunes and man pages.
        items.sort(key=lambda x: hashlib.sha1(x[0].encode()).hexdigest())
        for text, src in items:
            text = re.sub(r"\s+", " ", text).strip()
            if len(text) < 20 or text in seen or sum(c.isalpha() for c in text) < 0.5 * len(text):
                continue
            if lang != "en" and looks_english(text):
                continue
            seen.add(text)
            kept.append((text, src))
            chars += len(text)
            if chars >= cap:
                break
        ntr = nte = 0
        for text, src in kept:
            h = int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)
            rec = json.dumps({"text": text, "language": lang, "source": src}, ensure_ascii=False)
            if h % 10 == 0:
                test.write(rec + "\n"); nte += 1
            else:
                train.write(rec + "\n"); ntr += 1
        print(f"{lang}: {ntr} train, {nte} test, {chars} chars", file=sys.stderr)

if __name__ == "__main__":
    main()
