"""Reading a Word package for the template import: the XML parts that can hold placeholders
(``word/document.xml``, headers, footers), the placeholders in them (docxtpl, PHPWord, MERGEFIELD,
brackets, highlighted text, also when split over several runs) and their replacement by docxtpl tags
in the runs of the placeholder only, so the layout stays byte for byte."""

from __future__ import annotations

import copy
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ..errors import TemplateImportError
from .mapping import _JINJA_NAME

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
MAX_BYTES = 20 * 1024 * 1024


def _q(tag: str) -> str:
    return f"{{{W}}}{tag}"


_PART_RE = re.compile(r"^word/(document|header\d*|footer\d*)\.xml$")
_PART_LABELS = {"document": ("Brieftext", "im Brieftext"), "header": ("Kopfzeile", "in der Kopfzeile"),
                "footer": ("Fußzeile", "in der Fußzeile")}

# one regular expression for every textual placeholder; alternatives tried left to right
_TEXT_RE = re.compile(
    r"(?P<stmt>\{%[^{}\n\t]*?%\})"
    r"|(?P<jinja>\{\{(?P<j>[^{}\n\t]*?)\}\})"
    r"|(?P<php>\$\{(?P<p>[^{}\n\t$]*)\})"
    r"|(?P<guil>«(?P<g>[^«»\n\t]{1,80})»)"
    r"|(?P<br>\[(?P<b>[^\[\]\n\t]{1,80})\])"
    r"|(?P<open>\{\{|\{%|\$\{)"
    r"|(?P<close>\}\}|%\})"
    r"|(?P<comment>\{#)"
)
_BRACKET_OK = re.compile(r"[A-Za-zÄÖÜäöüß]")  # "[1]", "[…]" are no placeholders
_MERGEFIELD_RE = re.compile(r"^\s*MERGEFIELD\s+(?:\"([^\"]+)\"|(\S+))", re.I)


def _valid_expression(inner: str) -> bool:
    import jinja2

    try:
        jinja2.Environment().parse("{{ " + inner + " }}")
    except jinja2.TemplateSyntaxError:
        return False
    return True


def _literal(text: str) -> str:
    """Text that docxtpl renders as itself (its own escapes ``{_{`` etc.; ``{#`` through Jinja)."""
    out = text.replace("{{", "{_{").replace("}}", "}_}").replace("{%", "{_%").replace("%}", "%_}")
    return out.replace("{#", "{{ '{#' }}") if "{#" in out else out


@dataclass
class _Seg:
    elem: Any  # the w:t element, None for a tab or break
    text: str
    start: int
    run: Any


@dataclass
class _Hit:
    """One placeholder occurrence found in the XML; ``replace`` edits the XML."""

    style: str
    raw: str
    name: str  # as written (no brackets)
    where: str
    broken: str | None = None  # German reason
    apply: Callable[[str], None] | None = None
    highlighted: bool = False
    start: int = 0  # position in the paragraph's text (edits are applied right to left)


def _is_highlighted(run) -> bool:
    rpr = run.find(_q("rPr"))
    if rpr is None:
        return False
    h = rpr.find(_q("highlight"))
    return h is not None and h.get(_q("val"), "") not in ("", "none")


def _clear_highlight(run) -> None:
    rpr = run.find(_q("rPr"))
    if rpr is not None:
        for h in rpr.findall(_q("highlight")):
            rpr.remove(h)


def _runs(par) -> list:
    """Runs of a paragraph in order (also inside hyperlinks, smart tags, content controls, insertions),
    not those of nested paragraphs (text boxes) and not deleted text."""
    out: list = []

    def walk(node) -> None:
        for child in node:
            tag = child.tag
            if tag == _q("p") or tag == _q("del") or not isinstance(tag, str):
                continue
            if tag == _q("r"):
                out.append(child)
            elif tag == _q("fldSimple"):
                out.append(child)  # handled as a unit
            else:
                walk(child)

    walk(par)
    return out


def _set_text(t, text: str) -> None:
    t.text = text
    if text != text.strip() or "  " in text:
        t.set(_XML_SPACE, "preserve")


def _prune(run) -> None:
    """Remove empty w:t of a run, and the run itself when nothing but properties is left."""
    for t in run.findall(_q("t")):
        if not t.text:
            run.remove(t)
    if all(c.tag == _q("rPr") for c in run) and run.getparent() is not None:
        run.getparent().remove(run)


def _run_only_text(run, text: str) -> None:
    for c in list(run):
        if c.tag != _q("rPr"):
            run.remove(c)
    t = etree.SubElement(run, _q("t"))
    _set_text(t, text)


class _Part:
    """One XML part: find placeholders; with ``resolve`` also rewrite them."""

    def __init__(self, member: str, xml: bytes):
        self.member = member
        self.root = etree.fromstring(xml)
        kind = re.sub(r"\d+$", "", member.split("/")[-1].removesuffix(".xml"))
        self.label, self.in_label = _PART_LABELS[kind]
        self.hits: list[_Hit] = []
        self.changed = False

    def where(self, node) -> str:
        anc = node
        while anc is not None:
            if anc.tag == _q("tbl"):
                return f"Tabelle {self.in_label}"
            anc = anc.getparent()
        return self.label

    def scan(self) -> None:
        for par in list(self.root.iter(_q("p"))):
            self._fields(par)
        for par in list(self.root.iter(_q("p"))):
            self._text(par)

    # -- MERGEFIELD ------------------------------------------------------------------------------------
    def _fields(self, par) -> None:
        where = self.where(par)
        for simple in [r for r in _runs(par) if r.tag == _q("fldSimple")]:
            m = _MERGEFIELD_RE.match(simple.get(_q("instr"), ""))
            if not m:
                continue
            name = m.group(1) or m.group(2)
            inner = simple.find(_q("r"))
            self.hits.append(_Hit("mergefield", f"«{name}»", name, where,
                                  apply=lambda new, s=simple, r=inner: self._replace_simple(s, r, new)))
        stack: list[dict] = []
        for run in _runs(par):
            if run.tag != _q("r"):
                continue
            fc = run.find(_q("fldChar"))
            if fc is not None:
                typ = fc.get(_q("fldCharType"))
                if typ == "begin":
                    stack.append({"runs": [run], "instr": "", "sep": False, "result": [], "nested": False})
                elif typ == "separate" and stack:
                    stack[-1]["sep"] = True
                    stack[-1]["runs"].append(run)
                elif typ == "end" and stack:
                    f = stack.pop()
                    f["runs"].append(run)
                    if stack:
                        stack[-1]["nested"] = True
                        stack[-1]["runs"].extend(f["runs"])
                        if "MERGEFIELD" in f["instr"].upper():
                            stack[-1]["instr"] += " [MERGEFIELD]"
                    self._field_done(f, where)
                continue
            if stack:
                f = stack[-1]
                f["runs"].append(run)
                if not f["sep"]:
                    f["instr"] += "".join(t.text or "" for t in run.findall(_q("instrText")))
                elif run.find(_q("t")) is not None:
                    f["result"].append(run)
        for f in stack:  # a field that goes on in the next paragraph
            if "MERGEFIELD" in f["instr"].upper():
                self.hits.append(_Hit("mergefield", f["instr"].strip(), f["instr"].strip(), where,
                                      broken="Seriendruckfeld über mehrere Absätze: nicht umgewandelt, bitte in "
                                      "Word als ein Feld in einem Absatz neu einfügen."))

    def _field_done(self, f: dict, where: str) -> None:
        instr = f["instr"].strip()
        m = _MERGEFIELD_RE.match(instr)
        if not m:
            if "MERGEFIELD" in instr.upper():
                self.hits.append(_Hit("mergefield", instr, instr, where, broken="Seriendruckfeld innerhalb eines "
                                      "anderen Feldes (z. B. WENN/IF): nicht umgewandelt, die Bedingung muss von "
                                      "Hand als docxtpl-Anweisung nachgebaut werden."))
            return  # PAGE, DATE, ... stay as they are
        if f["nested"]:
            self.hits.append(_Hit("mergefield", instr, instr, where, broken="Seriendruckfeld mit verschachtelten "
                                  "Feldern: nicht umgewandelt."))
            return
        name = m.group(1) or m.group(2)
        self.hits.append(_Hit("mergefield", f"«{name}»", name, where,
                              apply=lambda new, f=f: self._replace_complex(f, new)))

    def _replace_simple(self, simple, inner, new: str) -> None:
        run = copy.deepcopy(inner) if inner is not None else etree.Element(_q("r"))
        _run_only_text(run, new)
        simple.getparent().replace(simple, run)
        self.changed = True

    def _replace_complex(self, f: dict, new: str) -> None:
        keep = f["result"][0] if f["result"] else f["runs"][0]
        _run_only_text(keep, new)
        for r in f["runs"]:
            if r is not keep and r.getparent() is not None:
                r.getparent().remove(r)
        self.changed = True

    # -- text placeholders ------------------------------------------------------------------------------
    def _segments(self, par) -> list[_Seg]:
        segs: list[_Seg] = []
        pos = 0
        in_field = 0
        for run in _runs(par):
            if run.tag != _q("r"):
                segs.append(_Seg(None, "\n", pos, run))  # a (non-merge) simple field: a barrier
                pos += 1
                continue
            for c in run:
                if c.tag == _q("fldChar"):
                    typ = c.get(_q("fldCharType"))
                    in_field += 1 if typ == "begin" else (-1 if typ == "end" else 0)
                    segs.append(_Seg(None, "\n", pos, run))
                    pos += 1
                elif c.tag == _q("t") and not in_field:
                    text = c.text or ""
                    segs.append(_Seg(c, text, pos, run))
                    pos += len(text)
                elif c.tag in (_q("tab"), _q("br"), _q("cr")) or (c.tag == _q("t") and in_field):
                    segs.append(_Seg(None, "\n", pos, run))
                    pos += 1
        return segs

    def _text(self, par) -> None:
        segs = self._segments(par)
        text = "".join(s.text for s in segs)
        if not text.strip():
            return
        where = self.where(par)
        hits: list[_Hit] = []
        covered: list[tuple[int, int]] = []
        for m in _TEXT_RE.finditer(text):
            s, e = m.span()
            raw = m.group(0)
            hit: _Hit | None = None
            if m.group("stmt"):
                hit = _Hit("statement", raw, raw, where)
            elif m.group("jinja") is not None:
                inner = m.group("j").strip()
                if not inner:
                    hit = _Hit("jinja", raw, raw, where, broken="leerer Platzhalter ohne Namen")
                elif _JINJA_NAME.match(inner):
                    hit = _Hit("jinja", raw, inner, where)
                elif _valid_expression(inner):
                    hit = _Hit("expression", raw, raw, where)
                else:
                    hit = _Hit("jinja", raw, raw, where, broken="kein gültiger Platzhaltername und kein gültiger "
                               "docxtpl-Ausdruck")
            elif m.group("php") is not None:
                inner = m.group("p").strip()
                if not inner:
                    hit = _Hit("phpword", raw, raw, where, broken="leerer Platzhalter ${} ohne Namen")
                elif inner.startswith("/") or not re.match(r"^[\w.#:\- ]+$", inner):
                    hit = _Hit("phpword", raw, raw, where, broken="PHPWord-Block oder ungültiger Name: nicht "
                               "umgewandelt (Blöcke bitte als docxtpl-Schleife nachbauen)")
                else:
                    hit = _Hit("phpword", raw, inner, where)
            elif m.group("guil") is not None:
                hit = _Hit("bracket", raw, m.group("g").strip(), where)
            elif m.group("br") is not None:
                inner = m.group("b").strip()
                if not _BRACKET_OK.search(inner):
                    continue
                hit = _Hit("bracket", raw, inner, where)
            elif m.group("open"):
                hit = _Hit("jinja" if raw != "${" else "phpword", raw, raw, where,
                           broken=f"„{raw}“ ohne schließende Klammer im selben Absatz")
            elif m.group("close"):
                hit = _Hit("jinja", raw, raw, where, broken=f"„{raw}“ ohne öffnende Klammer")
            elif m.group("comment"):
                hit = _Hit("jinja", raw, raw, where, broken="„{#“ leitet in docxtpl einen Kommentar ein")
            if hit is None:
                continue
            hit.apply, hit.start = self._span_editor(segs, s, e), s
            hit.highlighted = all(_is_highlighted(sg.run) for sg in segs if sg.elem is not None
                                  and sg.start < e and sg.start + len(sg.text) > s)
            hits.append(hit)
            covered.append((s, e))
        # highlighted text that is no placeholder of another style: consecutive highlighted segments
        group: list[_Seg] = []

        def flush() -> None:
            if not group:
                return
            s, e = group[0].start, group[-1].start + len(group[-1].text)
            label = text[s:e].strip()
            if label and not any(a < e and s < b for a, b in covered):
                lead = len(text[s:e]) - len(text[s:e].lstrip())
                trail = len(text[s:e]) - len(text[s:e].rstrip())
                hits.append(_Hit("highlight", label, label.strip("[]«» ") or label, where, highlighted=True,
                                 apply=self._span_editor(segs, s + lead, e - trail), start=s + lead))
            group.clear()

        for sg in segs:
            if sg.elem is not None and _is_highlighted(sg.run) and sg.text:
                group.append(sg)
            else:
                flush()
        flush()
        hits.sort(key=lambda h: h.start)
        self.hits.extend(hits)

    def _span_editor(self, segs: list[_Seg], s: int, e: int) -> Callable[[str], None]:
        def apply(new: str) -> None:
            inside = [sg for sg in segs if sg.elem is not None and sg.start < e and sg.start + len(sg.text) > s]
            if not inside:
                return
            first, last = inside[0], inside[-1]
            a, b = s - first.start, e - last.start
            if first is last:
                first.text = first.text[:a] + new + first.text[b:]
                _set_text(first.elem, first.text)
            else:
                suffix = last.text[b:]
                first.text = first.text[:a] + new
                _set_text(first.elem, first.text)
                for sg in inside[1:]:
                    sg.text = suffix if sg is last else ""
                    _set_text(sg.elem, sg.text)
                for sg in inside[1:]:
                    _prune(sg.run)
            self.changed = True
        return apply

    def serialise(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _open(data: bytes) -> tuple[zipfile.ZipFile, list[_Part]]:
    if len(data) > MAX_BYTES:
        raise TemplateImportError(f"Die Datei ist größer als {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
        if "word/document.xml" not in names:
            raise zipfile.BadZipFile("no document.xml")
        parts = []
        for n in names:
            if _PART_RE.match(n):
                info = zf.getinfo(n)
                if info.file_size > MAX_BYTES:
                    raise TemplateImportError("Ein Teil des Word-Dokuments ist unzulässig groß.")
                parts.append(_Part(n, zf.read(n)))
    except (zipfile.BadZipFile, etree.XMLSyntaxError, KeyError, ValueError) as exc:
        raise TemplateImportError("Die Datei ist kein lesbares Word-Dokument (.docx). Ältere .doc-Dateien bitte "
                                  "in Word als .docx speichern.") from exc
    # document first, then headers and footers, for a readable report
    parts.sort(key=lambda p: (p.member != "word/document.xml", p.member))
    return zf, parts
