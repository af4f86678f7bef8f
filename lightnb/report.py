"""Export an executed notebook as a review report: HTML and Markdown, both built from the panels' records.

Every workbook panel leaves, beside its widget view, a static record of what it did (see
:mod:`lightnb.ui.record`): HTML and Markdown rendered from its results. The report is made of
those records: the widget views are left out, and so is the widget state, so the HTML needs no
widget JavaScript (it opens offline, from ``file://``) and the Markdown reads the same on a code
host. A notebook whose panels hold no record (saved by an older lightnb, or before the panels
ran) is refused with the cells named, since its report would show nothing the panels did.
Values were redacted by the steps that produced them; the export adds a last check that no
configured secret text leaks into the files.
"""

from __future__ import annotations

import copy
import html
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from lightnb.errors import LightnbError
from lightnb.extras import require
from lightnb.files import write_text_atomic

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
META_KEY = "lightnb"  # output metadata: {"panel": title} on a widget view, {"record": title} on its record
FORMATS = ("html", "markdown")
# How panels printed themselves before they kept records: "<Run panel: applied 1 migration(s)>", and the
# sign-off checklist's widget text (which names its style class).
_LEGACY_PANEL = re.compile(r"^<[^<>\n]+ panel: [^\n]*>$")
_LEGACY_SIGNOFF = "lightnb-signoff"


@dataclass(frozen=True)
class Report:
    """The files an export wrote, and how many panel records they show."""

    html: Path | None
    markdown: Path | None
    records: int = 0


class MissingRecords(LightnbError):
    """The notebook's panels hold no record of what they did."""


def export(notebook: str | Path | Any, out_dir: str | Path, *, name: str | None = None,
           formats: Iterable[str] = FORMATS, secrets: Iterable[str] = (), redactor: Any = None,
           masked: bool = False) -> Report:
    """Write ``notebook`` (a path or a NotebookNode, already executed) as HTML and/or Markdown.

    :param name: the report's file stem (default: the notebook's).
    :param secrets: texts that must not appear in the report (e.g. a planted canary).
    :param redactor: which columns are sensitive in the outputs' tables (the built-in words by default).
    :param masked: ``notebook`` is a NotebookNode whose outputs lightnb already masked with ``redactor``
        (:func:`masked_for_report`), as it wrote it: not masked again.
    :raises LightnbError: for an unknown format, a path that is not a readable notebook, panels
        without a record (naming the cells), an output folder that cannot be made, or when a
        secret would leak (nothing is kept).
    """
    wanted = tuple(formats)
    unknown = set(wanted) - set(FORMATS)
    if unknown:
        raise LightnbError(f"Unknown report format(s) {', '.join(sorted(unknown))}; use html or markdown.")
    require("nbconvert", "lightnb report")
    if isinstance(notebook, (str, Path)):
        stem, label = name or Path(notebook).stem, Path(notebook).name
        nb = read_notebook(notebook)
    else:
        stem, nb = name or "report", notebook
        label = f"{stem}.ipynb"
    refuse_missing_records(nb, label)
    if not (masked and not isinstance(notebook, (str, Path))):
        nb = masked_for_report(nb, redactor)
    static = static_notebook(nb)
    out = _out_dir(Path(out_dir))
    html_path = md_path = None
    if "html" in wanted:
        html_path = _write(out / f"{stem}.html", _html(static), secrets)
    if "markdown" in wanted:
        md_path = _write(out / f"{stem}.md", _markdown(static), secrets)
    return Report(html_path, md_path, sum(len(c.records) for c in panel_cells(nb)))


@dataclass(frozen=True)
class PanelCell:
    """A code cell showing lightnb panels: its place (1-based, among all cells), panels and records."""

    number: int
    source: str
    panels: tuple[str, ...]
    records: tuple[str, ...]

    @property
    def missing(self) -> bool:
        """True when the cell shows more panels than records of them."""
        return len(self.records) < len(self.panels)


def panel_cells(nb: Any) -> list[PanelCell]:
    """Return every code cell of ``nb`` that shows a lightnb panel, with the records beside them."""
    found = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        panels, records = [], []
        for output in cell.get("outputs", []):
            mark = (output.get("metadata") or {}).get(META_KEY) or {}
            if "record" in mark:
                records.append(str(mark["record"]))
            elif "panel" in mark or _legacy_panel(output):
                panels.append(str(mark.get("panel", "panel")))
        if panels or records:
            found.append(PanelCell(number, cell.source, tuple(panels), tuple(records)))
    return found


def _legacy_panel(output: Any) -> bool:
    """Tell whether an unmarked output is a panel as older lightnb showed it (its view, or only its text)."""
    data = output.get("data") or {}
    plain = data.get("text/plain", "")
    plain = "".join(plain) if isinstance(plain, list) else str(plain)
    return bool(_LEGACY_PANEL.match(plain.strip())) or (VIEW_MIME in data and _LEGACY_SIGNOFF in plain)


def refuse_missing_records(nb: Any, label: str) -> None:
    """Raise :class:`MissingRecords` naming the cells whose panels hold no record.

    :param label: how to name the notebook in the message.
    """
    missing = [c for c in panel_cells(nb) if c.missing]
    if not missing:
        return
    cells = ", ".join(f"{c.number} ({_snippet(c.source)})" for c in missing)
    raise MissingRecords(f"{label}: the lightnb panels in cell(s) {cells} hold no record of what they did (saved "
                         f"by an older lightnb, or before they ran); open the notebook in JupyterLab, run all "
                         f"cells, save it, and report again.")


def _snippet(source: str, width: int = 32) -> str:
    line = next((ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")), "")
    return "`" + (line if len(line) <= width else line[:width - 1] + "…") + "`"


def static_notebook(nb: Any) -> Any:
    """Return a copy of ``nb`` that shows everything without widget JavaScript.

    Panels' widget views are left out (their records, beside them, show the same facts); other
    widget views keep only their text form; the saved widget state is dropped.
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            mark = (output.get("metadata") or {}).get(META_KEY) or {}
            data = output.get("data")
            if "panel" in mark:
                continue
            if isinstance(data, dict) and VIEW_MIME in data:
                data.pop(VIEW_MIME)
            kept.append(output)
        cell.outputs = kept
    return nb


def masked_for_report(nb: Any, redactor: Any = None) -> Any:
    """Return a copy of ``nb`` whose outputs show no secret: outputs lightnb did not make (a DataFrame
    displayed as it is, a ``print``, an error) have the sensitive columns of every HTML, text and
    Markdown table masked, and secret-shaped text anywhere (see :mod:`lightnb.inspect.redact_outputs`)."""
    from lightnb.inspect.redact_outputs import mask_notebook

    return mask_notebook(nb, redactor)


def read_notebook(path: str | Path) -> Any:
    """Read an ``.ipynb`` file as an nbformat 4 notebook.

    :raises LightnbError: when the path is missing, a folder, unreadable, or not a Jupyter notebook.
    """
    nbformat = require("nbformat", "lightnb report")
    path = Path(path)
    if path.is_dir():
        raise LightnbError(f"{path} is a folder, not a notebook; give the executed .ipynb file "
                           f"(e.g. the one `lightnb rehearse --out DIR` wrote)", path=path)
    if not path.exists():
        raise LightnbError(f"notebook {path} does not exist; check the path (`lightnb rehearse --out DIR` "
                           f"writes an executed notebook to report on)", path=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LightnbError(f"cannot read notebook {path}: {error.strerror or error}; check its "
                           f"permissions", path=path) from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LightnbError(f"{path} is not a Jupyter notebook (not JSON: {_reason(error)}); give an "
                           f"executed .ipynb file", path=path) from error
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) \
            or not isinstance(data.get("nbformat"), int):
        raise LightnbError(f"{path} is JSON but not a Jupyter notebook (no `cells` list or `nbformat` "
                           f"number); give an executed .ipynb file", path=path)
    try:
        return nbformat.reads(json.dumps(data), as_version=4)
    except (ValueError, KeyError, TypeError, AttributeError, nbformat.ValidationError) as error:
        raise LightnbError(f"{path} is not a valid Jupyter notebook ({_reason(error)}); open and save "
                           f"it in Jupyter, or give another .ipynb file", path=path) from error


def _reason(error: Exception) -> str:
    return " ".join(str(error).split())[:120]


def _out_dir(out: Path) -> Path:
    """Create the output folder; refuse a path that is a file or cannot be created."""
    if out.exists() and not out.is_dir():
        raise LightnbError(f"--out {out} is a file, not a folder; choose a folder for the report", path=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LightnbError(f"cannot create the report folder {out}: {error.strerror or error}; choose "
                           f"another --out folder", path=out) from error
    return out


_NO_SCRIPT = "data:text/javascript,"  # an empty inline script, in place of one from a CDN


class _Exporters:
    """nbconvert's HTML and Markdown exporters, made once per process and kept for every report.

    Making an exporter compiles its Jinja templates again (the HTML report's take a tenth of a second and
    more); a kept one renders the next report with them compiled, in memory. Nothing is cached on disk. A
    template whose file changed since it was compiled is never used: Jinja checks the templates a report
    includes before each use, and the report's own template is checked here (its exporter is made again).
    One report at a time uses an exporter, since some of its settings are set per report.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._made: dict[str, Any] = {}
        self._defaults: dict[tuple[str, str], Any] = {}

    def get(self, kind: str) -> Any:
        """Return the kept exporter of ``kind`` (``html`` or ``markdown``), made now when missing or stale."""
        made = self._made.get(kind)
        if made is None or not made.template.is_up_to_date:
            from nbconvert import HTMLExporter, MarkdownExporter

            made = self._made[kind] = HTMLExporter() if kind == "html" else MarkdownExporter()
            if kind == "html":
                self._defaults.update({(kind, name): getattr(made, name) for name in ("mathjax_url",
                                                                                          "require_js_url")})
        return made

    def default(self, kind: str, name: str) -> Any:
        """Return the value setting ``name`` had when the exporter of ``kind`` was made."""
        return self._defaults[(kind, name)]


_EXPORTERS = _Exporters()


def warm_up(nb: Any) -> None:
    """Render notebook ``nb`` (a NotebookNode) as :func:`export` would, writing nothing: the kept exporters
    compile their templates, and the lexers, filters and parsers a report uses load, before a report is due."""
    static = static_notebook(masked_for_report(nb))
    _html(static)
    _markdown(static)


def _html(nb: Any) -> str:
    with _EXPORTERS.lock:
        exporter = _EXPORTERS.get("html")
        # No formula to typeset: an empty inline script instead of MathJax from a CDN, so the report opens
        # offline without a failed request; likewise require.js when no output runs JavaScript. Set on every
        # call: the exporter is kept for the next report.
        exporter.mathjax_url = _EXPORTERS.default("html", "mathjax_url") if _has_math(nb) else _NO_SCRIPT
        exporter.require_js_url = _EXPORTERS.default("html", "require_js_url") if _has_javascript(nb) else _NO_SCRIPT
        body, _resources = exporter.from_notebook_node(nb)
    return body


def _has_javascript(nb: Any) -> bool:
    """Tell whether an output of ``nb`` is JavaScript (which may load modules with require.js)."""
    return any("application/javascript" in (output.get("data") or {})
               for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", []))


def _has_math(nb: Any) -> bool:
    """Tell whether a Markdown cell holds TeX that MathJax would typeset (``$…$``, ``\\(…\\)``, ``$$``)."""
    return any(cell.cell_type == "markdown" and ("$" in cell.source or "\\(" in cell.source
                                                 or "\\[" in cell.source)
               for cell in nb.cells)


def _markdown(nb: Any) -> str:
    ready = _markdown_ready(nb)
    with _EXPORTERS.lock:
        body, _resources = _EXPORTERS.get("markdown").from_notebook_node(ready)
    return body


def _markdown_ready(nb: Any) -> Any:
    """Return a copy of a static notebook whose records (and results shown as they are) are their own
    Markdown, never Markdown scraped from their HTML, and whose other HTML outputs have no style or script."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else ():
            data = output.get("data", {})
            if isinstance(data.get("text/markdown"), (str, list)):
                # a panel's record, or a result shown as it is: Markdown rendered from the result itself
                markdown = data["text/markdown"]
                output["data"] = {"text/markdown": "".join(markdown) if isinstance(markdown, list) else markdown}
            elif isinstance(data.get("text/html"), str):
                data["text/html"] = _html_block(data["text/html"])
    return nb


def _html_block(fragment: str) -> str:
    """Return ``fragment`` cleaned for Markdown: one HTML block (no blank line), no style/script/button."""
    cleaner = _HtmlCleaner()
    cleaner.feed(fragment)
    cleaner.close()
    body = cleaner.text().strip()
    return f"<div>\n{body}\n</div>" if body else ""


class _HtmlCleaner(HTMLParser):
    """Re-serialise HTML without style/script/button elements, event or style attributes, or blank lines.

    Outside ``<pre>`` whitespace runs holding a line break collapse to a space (HTML shows them
    alike) and a line break follows each closing block tag; inside ``<pre>`` a line that would be
    blank keeps its break as ``&#10;``. So the fragment stays one Markdown HTML block.
    """

    DROPPED = frozenset({"style", "script", "button", "template"})
    BLOCKS = frozenset({"p", "div", "table", "thead", "tbody", "tr", "caption", "ul", "ol", "li", "pre",
                        "h1", "h2", "h3", "h4", "h5", "h6", "details", "summary", "blockquote"})
    VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pre: list[str] = []
        self.pre_depth = 0
        self.dropping: str | None = None
        self.drop_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._dropped(tag, opening=True):
            return
        self._emit(f"<{tag}{self._attrs(attrs)}>")
        if tag == "pre":
            self.pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.dropping is None and tag not in self.DROPPED:
            self._emit(f"<{tag}{self._attrs(attrs)}/>")

    def handle_endtag(self, tag: str) -> None:
        if self._dropped(tag, opening=False) or tag in self.VOID:
            return
        if tag == "pre" and self.pre_depth:
            self.pre_depth -= 1
            if not self.pre_depth:
                self.out.append(_keep_lines("".join(self.pre)))
                self.pre.clear()
        self._emit(f"</{tag}>")
        if tag in self.BLOCKS and not self.pre_depth:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.dropping is not None:
            return
        text = html.escape(data, quote=False)
        self._emit(text if self.pre_depth else _collapse(text))

    def text(self) -> str:
        """Return the cleaned HTML fed so far (an unclosed ``<pre>`` is flushed as it is)."""
        return "".join(self.out) + _keep_lines("".join(self.pre))

    @staticmethod
    def _attrs(attrs: list[tuple[str, str | None]]) -> str:
        return "".join(f' {k}="{html.escape(v or "", quote=True)}"' for k, v in attrs
                       if k != "style" and not k.startswith("on"))

    def _dropped(self, tag: str, *, opening: bool) -> bool:
        """Track and report whether ``tag`` is inside (or is) an element being dropped."""
        if self.dropping is None:
            if opening and tag in self.DROPPED:
                self.dropping, self.drop_depth = tag, 1
                return True
            return False
        if tag == self.dropping:
            self.drop_depth += 1 if opening else -1
            if not self.drop_depth:
                self.dropping = None
        return True

    def _emit(self, text: str) -> None:
        if self.pre_depth:
            self.pre.append(text)
        else:
            self.out.append(text)


def _collapse(text: str) -> str:
    """Collapse each run of HTML whitespace (space, tab, line breaks) in ``text`` to one space."""
    out: list[str] = []
    for char in text:
        if char in " \t\n\r\f":
            if not out or out[-1] != " ":
                out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def _keep_lines(text: str) -> str:
    """Return ``<pre>`` content whose would-be blank lines keep their break as ``&#10;`` instead."""
    lines = text.split("\n")
    joined = [lines[0]]
    for line in lines[1:]:
        joined.append(("&#10;" if not line.strip() else "\n") + line)
    return "".join(joined)


def _write(path: Path, text: str, secrets: Iterable[str]) -> Path:
    leaked = [s for s in secrets if s and s in text]
    if leaked:
        raise LightnbError(f"The report {path.name} would contain {len(leaked)} secret value(s); nothing was "
                           f"written. Check the notebook's outputs for unredacted columns.")
    write_text_atomic(path, text, what="report")
    return path
