"""Export an executed notebook as a review report: HTML (widget state embedded) and Markdown.

nbconvert embeds the widgets' saved state in the HTML, but its page loads the widget manager
and require.js from a CDN, so widgets stay blank offline. When the JavaScript is available
locally (``$LIGHTNB_WIDGET_JS``, or a cache filled once with ``npm pack``), it is copied into
``OUTDIR/static/`` and the page points there, so the report renders from ``file://``.
The Markdown shows each widget panel as the content it held when the notebook was saved (its
HTML fragments from the widget state, checkbox ticks, text areas as code blocks) instead of the
one-line text form, so a reviewer reading it on a code host sees the tables and the verdict.
Values were redacted by the steps that produced them; the export adds a last check that no
configured secret text leaks into the files.
"""

from __future__ import annotations

import copy
import html
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from lightnb.errors import LightnbError

HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.15"  # the 1.x line serves ipywidgets 8
REQUIREJS = "requirejs@2.3.8"
WIDGET_JS_ENV = "LIGHTNB_WIDGET_JS"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
FORMATS = ("html", "markdown")


@dataclass(frozen=True)
class Report:
    """The files an export wrote.

    :param widget_js: ``"local"`` when the HTML loads its widget JavaScript from ``static/``,
        ``"cdn"`` when it needs the network to render widgets.
    """

    html: Path | None
    markdown: Path | None
    widget_js: str
    widget_state: bool


def export(notebook: str | Path | Any, out_dir: str | Path, *, name: str | None = None,
           formats: Iterable[str] = FORMATS, secrets: Iterable[str] = (), fetch_js: bool = True,
           redactor: Any = None) -> Report:
    """Write ``notebook`` (a path or a NotebookNode, already executed) as HTML and/or Markdown.

    :param name: the report's file stem (default: the notebook's).
    :param secrets: texts that must not appear in the report (e.g. a planted canary).
    :param fetch_js: fill the widget-JavaScript cache with ``npm pack`` when it is empty.
    :param redactor: which columns are sensitive in the outputs' tables (the built-in words by default).
    :raises LightnbError: for an unknown format, a path that is not a readable notebook, an output
        folder that cannot be made, or when a secret would leak (nothing is kept).
    """
    wanted = tuple(formats)
    unknown = set(wanted) - set(FORMATS)
    if unknown:
        raise LightnbError(f"Unknown report format(s) {', '.join(sorted(unknown))}; use html or markdown.")
    if isinstance(notebook, (str, Path)):
        stem = name or Path(notebook).stem
        nb = read_notebook(notebook)
    else:
        stem, nb = name or "report", notebook
    nb = masked_for_report(nb, redactor)
    out = _out_dir(Path(out_dir))
    html_path = md_path = None
    mode = "cdn"
    if "html" in wanted:
        js = widget_js(fetch=fetch_js)
        mode = "local" if js is not None else "cdn"
        if js is not None:
            shutil.copytree(js, out / "static", dirs_exist_ok=True)
        html_path = _write(out / f"{stem}.html", _html(nb, local_js=js is not None), secrets)
    if "markdown" in wanted:
        md_path = _write(out / f"{stem}.md", _markdown(nb), secrets)
    state = STATE_MIME in nb.metadata.get("widgets", {})
    return Report(html_path, md_path, mode, state)


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
    import nbformat

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


def _html(nb: Any, *, local_js: bool) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    if local_js:
        exporter.widget_renderer_url = "static/embed-amd.js"
        exporter.require_js_url = "static/require.js"
    if not _has_math(nb):
        # No formula to typeset: an empty inline script instead of MathJax from a CDN, so the report
        # opens offline without a failed request.
        exporter.mathjax_url = "data:text/javascript,"
    body, _resources = exporter.from_notebook_node(nb)
    return body


def _has_math(nb: Any) -> bool:
    """Tell whether a Markdown cell holds TeX that MathJax would typeset (``$…$``, ``\\(…\\)``, ``$$``)."""
    return any(cell.cell_type == "markdown" and ("$" in cell.source or "\\(" in cell.source
                                                 or "\\[" in cell.source)
               for cell in nb.cells)


def _markdown(nb: Any) -> str:
    from nbconvert import MarkdownExporter

    body, _resources = MarkdownExporter().from_notebook_node(_markdown_ready(nb))
    return body


def _markdown_ready(nb: Any) -> Any:
    """Return a copy of ``nb`` whose widget views are Markdown and whose HTML outputs have no style or script."""
    nb = copy.deepcopy(nb)
    state = nb.metadata.get("widgets", {}).get(STATE_MIME, {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else ():
            data = output.get("data", {})
            view = data.get(VIEW_MIME)
            model_id = view.get("model_id") if isinstance(view, dict) else None
            if model_id in state:
                plain = data.get("text/plain", "")
                output["data"] = {"text/markdown": widget_markdown(state, model_id), "text/plain": plain}
            elif isinstance(data.get("text/html"), str):
                data["text/html"] = _html_block(data["text/html"])
    return nb


def widget_markdown(state: dict[str, Any], model_id: str) -> str:
    """Return the Markdown showing widget ``model_id`` as saved in the widget ``state`` (``{id: model}``).

    HTML and HTMLMath values become HTML blocks (without style, script or buttons), checkboxes
    become task-list items, text areas fenced code; boxes contribute their children in order.
    """
    text = ""
    for block in _widget_blocks(state, model_id, set()):
        if block:
            tight = block.startswith("- [") and text.rpartition("\n")[2].startswith("- [")
            text += ("\n" if tight else "\n\n" if text else "") + block
    return text


def _widget_blocks(state: dict[str, Any], model_id: str, seen: set[str]) -> Iterator[str]:
    model = state.get(model_id)
    if model_id in seen or not isinstance(model, dict):
        return
    seen.add(model_id)
    name, values = model.get("model_name", ""), model.get("state", {})
    if name in ("HTMLModel", "HTMLMathModel"):
        yield _html_block(str(values.get("value") or ""))
    elif name == "CheckboxModel":
        tick = "x" if values.get("value") else " "
        yield f"- [{tick}] {_markdown_text(str(values.get('description') or ''))}"
    elif name == "TextareaModel" and values.get("value"):
        yield _fenced(str(values["value"]))
    for child in values.get("children") or ():
        if isinstance(child, str):
            yield from _widget_blocks(state, child.removeprefix("IPY_MODEL_"), seen)


def _markdown_text(text: str) -> str:
    """Escape ``text`` so Markdown shows it literally on one line."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    return "".join("\\" + c if c in "\\`*_[]#|" else c for c in escaped)


def _fenced(text: str) -> str:
    """Return ``text`` as a fenced code block whose fence is longer than any backtick run in it."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip(chr(10))}\n{fence}"


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
    path.write_text(text, encoding="utf-8")
    return path


def widget_js_cache() -> Path:
    """Return where the widget JavaScript is kept: ``$LIGHTNB_WIDGET_JS``, else the user cache."""
    if os.environ.get(WIDGET_JS_ENV):
        return Path(os.environ[WIDGET_JS_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "lightnb" / "widget-js" / HTML_MANAGER.rsplit("@", 1)[1]


def widget_js(*, fetch: bool = True) -> Path | None:
    """Return a folder holding ``embed-amd.js`` and ``require.js``, fetching them with npm if allowed."""
    folder = widget_js_cache()
    if (folder / "embed-amd.js").is_file() and (folder / "require.js").is_file():
        return folder
    if not fetch or shutil.which("npm") is None:
        return None
    try:
        _fetch(folder)
    except (OSError, subprocess.SubprocessError, tarfile.TarError):
        return None
    return folder


def _fetch(folder: Path) -> None:
    """Download the two npm packages with ``npm pack`` and unpack the files the HTML needs."""
    with tempfile.TemporaryDirectory(prefix="lightnb-npm-") as tmp:
        subprocess.run(["npm", "pack", "--silent", HTML_MANAGER, REQUIREJS], cwd=tmp, check=True,
                       capture_output=True, timeout=120)
        staging = Path(tmp) / "static"
        staging.mkdir()
        for archive in Path(tmp).glob("*.tgz"):
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    keep = member.name.startswith("package/dist/") or member.name == "package/require.js"
                    if keep and member.isfile() and not member.name.endswith(".map"):
                        member.name = Path(member.name).name
                        tar.extract(member, staging, filter="data")
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(staging, folder)
