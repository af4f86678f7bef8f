"""Mask secrets in a notebook's saved outputs before they are exported as a report.

Steps redact what they produce, but a notebook also holds outputs lightnb did not make: a DataFrame
displayed as it is, a ``print`` of rows, an error raised by a query. Before a report is written, every
code cell's outputs pass through here:

- tables - HTML (``<table>``, as pandas and Styler write them, header rows with ``colspan`` and
  MultiIndex levels), text (pandas' fixed-width ``to_string`` layout, wrapped blocks too) and Markdown
  pipe tables - have every cell under a sensitive column header masked (a time column's integers excepted);
- every other text (cells of other columns, prose, ``print`` output, error messages and tracebacks,
  JSON) has its secret-shaped parts masked (:meth:`Redactor.scrub_text`, :meth:`Redactor.message`).

Widget views are not outputs of this kind: a panel's saved content is what its step redacted.

The notebook given is not modified: :func:`mask_notebook` returns a masked copy.
"""

from __future__ import annotations

import copy
import html
import json
import re
from html.parser import HTMLParser
from typing import Any

from lightnb.inspect.redact import DEFAULT_REDACTOR, Redactor


def mask_notebook(nb: Any, redactor: Redactor | None = None) -> Any:
    """Return a copy of notebook ``nb`` whose code cells' outputs show no secret."""
    redactor = redactor or DEFAULT_REDACTOR
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            _mask_output(output, redactor)
    return nb


def _mask_output(output: Any, redactor: Redactor) -> None:
    kind = output.get("output_type")
    if kind == "stream":
        output["text"] = mask_text(_joined(output.get("text", "")), redactor)
    elif kind == "error":
        output["evalue"] = redactor.message(str(output.get("evalue", "")))
        output["traceback"] = [redactor.message(line) for line in output.get("traceback", [])]
    elif kind in ("execute_result", "display_data", "update_display_data"):
        data = output.get("data", {})
        for mime, value in list(data.items()):
            text = _joined(value) if isinstance(value, (str, list)) else value
            if mime == "text/html":
                data[mime] = mask_html(text, redactor)
            elif mime == "text/markdown":
                data[mime] = mask_markdown(text, redactor)
            elif mime == "text/plain" or mime.startswith("text/"):
                data[mime] = mask_text(text, redactor)
            elif mime == "application/json" or mime.endswith("+json") and "widget" not in mime:
                data[mime] = _mask_json(value, redactor)


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _number(text: str) -> Any:
    stripped = text.strip()
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    if re.fullmatch(r"-?\d+\.\d*(?:[eE][-+]?\d+)?", stripped):
        return float(stripped)
    return stripped


def _masked_cell(text: str, label: str, redactor: Redactor) -> str:
    """The text of one table cell under column ``label``."""
    stripped = text.strip()
    if not stripped or stripped in ("NaN", "None", "<NA>", "NaT", "null", redactor.mask):
        return text
    if label and redactor.masks(_number(stripped), label):
        return text.replace(stripped, redactor.mask)
    return text.replace(stripped, redactor.scrub(stripped, label or None)) if stripped else text


def _mask_json(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, dict):
        return {k: (redactor.mask if redactor.masks(v, str(k)) else _mask_json(v, redactor)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v, redactor) for v in value]
    if isinstance(value, str):
        return redactor.scrub_text(value)
    return value


# -- text ----------------------------------------------------------------------------------------------------
def mask_text(text: str, redactor: Redactor | None = None) -> str:
    """Mask a text output: sensitive columns of fixed-width tables, then secret shapes anywhere."""
    redactor = redactor or DEFAULT_REDACTOR
    blocks = re.split(r"(\n[ \t]*\n)", text)
    out = []
    for block in blocks:
        out.append(_fixed_width(block, redactor) if block.strip() else block)
    return redactor.message("".join(out))


_LABEL = re.compile(r"\S+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.$-]*")


def _fixed_width(block: str, redactor: Redactor) -> str:
    """Mask the sensitive columns of a pandas-style fixed-width table (a header line - the last of a
    MultiIndex's header lines too - then rows)."""
    lines = block.split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()]
    # Header lines: the first line, then lines indented like it (a MultiIndex's levels); rows start with
    # their index at the margin.
    candidates = filled[:1] + [i for i in filled[1:4] if lines[i][:1].isspace()]
    for start in candidates:
        lines = _fixed_width_from(lines, start, redactor)
    return "\n".join(lines)


def _fixed_width_from(lines: list[str], start: int, redactor: Redactor) -> list[str]:
    lines = list(lines)
    if len(lines) - start < 2:
        return lines
    header = lines[start].rstrip(" \\")
    labels = [(m.start(), m.end(), m.group(0)) for m in _LABEL.finditer(header)]
    sensitive = [(s, e, label) for s, e, label in labels if _IDENTIFIER.fullmatch(label)
                 and redactor.is_sensitive(label)]
    rows = [i for i in range(start + 1, len(lines)) if lines[i].strip()]
    row_labels = any(_IDENTIFIER.fullmatch(lines[i].split()[0]) and redactor.is_sensitive(lines[i].split()[0])
                     for i in rows)
    if not labels or not (sensitive or row_labels):
        return lines
    # Right-aligned columns end where their label ends: a table when most rows agree on it.
    ends = [e for _s, e, _l in labels]
    def fits(line: str) -> bool:
        ok = sum(1 for e in ends if e <= len(line) and line[e - 1] != " " and (e == len(line) or line[e] == " "))
        return ok * 5 >= len(ends) * 3

    rows = [i for i in rows if not (lines[i].lstrip().startswith("[") and "rows x" in lines[i])]
    if not rows or sum(1 for i in rows if fits(lines[i])) * 5 < len(rows) * 3:
        return lines
    # The first column starts after the index (left-aligned labels at the start of each row).
    first_start = labels[0][0]
    index_end = max((len(lines[i]) - len(lines[i].lstrip()) + len(lines[i].split()[0]) for i in rows
                     if len(lines[i]) - len(lines[i].lstrip()) + len(lines[i].split()[0]) < first_start), default=0)
    bounds = {e: (ends[k - 1] if k else index_end) for k, e in enumerate(ends)}
    for i in rows:
        line = lines[i]
        first = line.split()[0]
        if _IDENTIFIER.fullmatch(first) and redactor.is_sensitive(first):  # transposed: the row is the column
            head = line.index(first) + len(first)
            rest = line[head:]
            # re.sub calls the lambda at once, while ``first`` is this row's (B023 does not apply).
            lines[i] = line[:head] + re.sub(r"\S+(?: \S+)*",
                                            lambda m: _masked_cell(m.group(0), first, redactor),  # noqa: B023
                                            rest)
            continue
        for _s, e, label in sorted(sensitive, key=lambda t: -t[1]):
            left = bounds[e]
            if left >= len(line):
                continue
            cell = line[left:e]
            masked = _masked_cell(cell, label, redactor)
            if masked != cell:
                line = line[:left] + masked + line[e:]
        lines[i] = line
    return lines


# -- Markdown ------------------------------------------------------------------------------------------------
def mask_markdown(text: str, redactor: Redactor | None = None) -> str:
    """Mask a Markdown output: cells of pipe tables under sensitive headers, then secret shapes anywhere."""
    redactor = redactor or DEFAULT_REDACTOR
    lines = text.split("\n")
    header: list[str] | None = None
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = _pipe_cells(line)
        if header is None:
            header = [c.strip() for c in cells]
            continue
        if all(re.fullmatch(r"\s*:?-{1,}:?\s*", c) for c in cells):
            continue
        cells = [_masked_cell(c, header[k] if k < len(header) else "", redactor) for k, c in enumerate(cells)]
        lead = line[:len(line) - len(line.lstrip())]
        lines[i] = lead + "|" + "|".join(cells) + "|"
    return redactor.message("\n".join(lines))


def _pipe_cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return re.split(r"(?<!\\)\|", body)


# -- HTML ----------------------------------------------------------------------------------------------------
def mask_html(fragment: str, redactor: Redactor | None = None) -> str:
    """Mask an HTML output: table cells under sensitive headers, and secret shapes in every text."""
    redactor = redactor or DEFAULT_REDACTOR
    parser = _TableMasker(redactor)
    parser.feed(fragment)
    parser.close()
    return parser.result()


class _Table:
    """Header labels of one table, by column position, and where the parser is in it."""

    def __init__(self) -> None:
        self.header_rows: list[list[str]] = []
        self.in_head = False
        self.row: list[str] = []          # labels of the cells of the current row
        self.row_all_th = True
        self.body_rows = 0
        self.row_label = ""
        self.labels: list[str] | None = None

    def label(self, position: int) -> str:
        if self.labels is None:
            width = max((len(r) for r in self.header_rows), default=0)
            self.labels = []
            for p in range(width):
                names = [r[p] for r in self.header_rows if p < len(r) and r[p].strip()]
                self.labels.append(names[-1] if names else "")
        return self.labels[position] if position < len(self.labels) else ""


class _TableMasker(HTMLParser):
    """Re-serialise HTML, masking cells of sensitive columns and secret-shaped text."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__(convert_charrefs=True)
        self.redactor = redactor
        self.out: list[str] = []
        self.tables: list[_Table] = []
        self.cell: list[tuple[bool, str]] | None = None  # (is text, content) inside a td/th
        self.cell_span = 1
        self.cell_tag = ""
        self.raw = 0  # inside <script>/<style>

    def result(self) -> str:
        if self.cell is not None:
            self._close_cell()
        return "".join(self.out)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = self.get_starttag_text() or f"<{tag}>"
        table = self.tables[-1] if self.tables else None
        if tag in ("td", "th") and table is not None:
            if self.cell is not None:
                self._close_cell()
            span = dict(attrs).get("colspan") or "1"
            self.cell_span = int(span) if span.isdigit() and int(span) > 0 else 1
            self.cell_tag = tag
            self.cell = []
            self.out.append(text)
            return
        self._emit_tag(text)
        if tag in ("script", "style"):
            self.raw += 1
        if tag == "table":
            self.tables.append(_Table())
        elif table is None:
            return
        elif tag == "thead":
            table.in_head = True
        elif tag == "tr":
            table.row, table.row_all_th, table.row_label = [], True, ""

    def handle_endtag(self, tag: str) -> None:
        table = self.tables[-1] if self.tables else None
        if tag in ("td", "th") and table is not None and self.cell is not None:
            self._close_cell()
            self.out.append(f"</{tag}>")
            return
        if self.cell is not None and tag in ("tr", "table", "thead", "tbody") and table is not None:
            self._close_cell()
        if table is not None and tag == "tr":
            if table.in_head or (not table.header_rows and not table.body_rows and table.row and table.row_all_th):
                table.header_rows.append(table.row)
                table.labels = None
            elif table.row:
                table.body_rows += 1
            table.row = []
        elif table is not None and tag == "thead":
            table.in_head = False
        elif table is not None and tag == "table":
            self.tables.pop()
        if tag in ("script", "style") and self.raw:
            self.raw -= 1
        self._emit_tag(f"</{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._emit_tag(self.get_starttag_text() or f"<{tag}/>")

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append((True, data))
        elif self.raw:
            self.out.append(data)
        else:
            self.out.append(html.escape(self.redactor.message(data), quote=False))

    def handle_comment(self, data: str) -> None:
        self._emit_tag(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self._emit_tag(f"<!{decl}>")

    def _emit_tag(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append((False, text))
        else:
            self.out.append(text)

    def _close_cell(self) -> None:
        table = self.tables[-1]
        parts, self.cell = self.cell or [], None
        text = "".join(content for is_text, content in parts if is_text)
        position = len(table.row)
        header = table.in_head or (not table.header_rows and not table.body_rows)
        table.row.extend([text.strip()] * self.cell_span)
        table.row_all_th = table.row_all_th and self.cell_tag == "th"
        label = "" if header else table.label(position)
        if not header and self.cell_tag == "th" and not table.row_label:
            table.row_label = text.strip()  # a transposed frame: the row may be the column
        elif not header and self.cell_tag == "td" and table.row_label and _IDENTIFIER.fullmatch(table.row_label):
            if self.redactor.is_sensitive(table.row_label):
                label = table.row_label
            elif label and not self.redactor.is_sensitive(label):
                label = f"{label} {table.row_label}"  # either name may say "version"
        masked = _masked_cell(text, label, self.redactor) if label else None
        whole = masked is not None and self.redactor.mask in masked and self.redactor.mask not in text \
            and label and self.redactor.masks(_number(text), label)
        first = True
        for is_text, content in parts:
            if not is_text:
                self.out.append(content)
            elif whole:
                self.out.append(html.escape(self.redactor.mask, quote=False) if first and content.strip() else "")
                first = first and not content.strip()
            else:
                shown = self.redactor.scrub(content, label) if label else self.redactor.message(content)
                self.out.append(html.escape(shown, quote=False))


def mask_json_text(text: str, redactor: Redactor | None = None) -> str:
    """Mask a JSON document given as text (values under secret-named keys, secret shapes)."""
    redactor = redactor or DEFAULT_REDACTOR
    try:
        return json.dumps(_mask_json(json.loads(text), redactor))
    except ValueError:
        return redactor.message(text)
