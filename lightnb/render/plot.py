"""Small charts as self-contained HTML images (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence


def bars_html(labels: Sequence[str], before: Sequence[float | None], after: Sequence[float | None], *,
              title: str, xlabel: str = "rows") -> str:
    """Return an ``<img>`` of a horizontal before/after bar chart, one pair of bars per label."""
    png = bars_png(labels, before, after, title=title, xlabel=xlabel)
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="lightnb-plot" alt="{html.escape(title, quote=True)}" src="data:image/png;base64,{data}"/>'


def bars_png(labels: Sequence[str], before: Sequence[float | None], after: Sequence[float | None], *,
             title: str, xlabel: str = "rows") -> bytes:
    """Return PNG bytes of a horizontal before/after bar chart (deterministic for equal input)."""
    from matplotlib.figure import Figure  # the object API never touches pyplot's global state

    height = 0.6 + 0.45 * max(len(labels), 1)
    figure = Figure(figsize=(6.0, height), dpi=80)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    axes.barh([p + 0.2 for p in positions], [_number(b) for b in before], height=0.4, label="before",
              color="#9bb7d4")
    axes.barh([p - 0.2 for p in positions], [_number(a) for a in after], height=0.4, label="after",
              color="#2f6fad")
    axes.set_yticks(positions, list(labels))
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _number(value: object) -> float:
    # None, NaN or pandas' NA (a table missing on one side) draw as an empty bar.
    try:
        number = float(value)  # type: ignore[arg-type]  # whatever float() takes; the rest draws empty
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if number != number else number
