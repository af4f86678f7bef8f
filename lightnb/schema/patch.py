"""Apply a unified diff to printed schema text, as diesel's ``patch_file`` does with diffy 0.4.

diesel_spec.md §4.12: exact matching (no fuzz); each hunk is searched from its new-file start
position, then alternately one line further back and one further forward, never over lines an
earlier hunk produced.

A patch file with no hunk (empty, or only text) changes nothing, as in diesel (diffy parses it as a
patch of no hunks); lightnb prints the same schema and says so in one line on stderr, since such a
patch file is almost always a mistake.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from lightnb.errors import FileWriteError, with_advice
from lightnb.files import existing_regular
from lightnb.schema.model import SchemaError

_NO_NEWLINE = "\\ No newline at end of file"


@dataclass(frozen=True, slots=True)
class Hunk:
    """One ``@@`` hunk: its new-file start line and its lines as (kind, text with line end)."""

    new_start: int
    lines: tuple[tuple[str, str], ...]

    def old(self) -> list[str]:
        """Return the lines the hunk expects (context and deletions)."""
        return [text for kind, text in self.lines if kind in " -"]

    def new(self) -> list[str]:
        """Return the lines the hunk leaves (context and insertions)."""
        return [text for kind, text in self.lines if kind in " +"]


def _split_lines(text: str) -> list[str]:
    """Split after each ``\\n``, keeping line endings, like diffy's ``LineIter``."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    return lines + ([parts[-1]] if parts[-1] else [])


def _range(text: str) -> tuple[int, int]:
    """diffy 0.4 ``range``: ``start[,len]``, each a Rust ``usize``."""
    start, comma, count = text.partition(",")
    return _usize(start), (_usize(count) if comma else 1)


def _usize(text: str) -> int:
    """Parse as Rust's ``usize::from_str`` does (an optional ``+``, then ASCII digits), else diffy's error."""
    digits = text[1:] if text.startswith("+") else text
    if not digits or not all("0" <= c <= "9" for c in digits) or int(digits) >= 2 ** 64:
        raise ValueError("can't parse range")
    return int(digits)


def _header(line: str) -> tuple[int, int, int]:
    """Parse ``@@ -a[,b] +c[,d] @@`` into (old count, new start, new count), as diffy 0.4's ``hunk_header``."""
    if not line.startswith("@@ "):
        raise ValueError("unable to parse hunk header")
    ranges, found, _context = line[3:].partition(" @@")
    if not found:
        raise ValueError("hunk header unterminated")
    old, space, new = ranges.partition(" ")
    if not space or not old.startswith("-") or not new.startswith("+"):
        raise ValueError("unable to parse hunk header")
    _old_start, old_count = _range(old[1:])
    new_start, new_count = _range(new[1:])
    return old_count, new_start, new_count


def parse_patch(text: str) -> list[Hunk]:
    """Parse a unified diff into hunks.

    :raises ValueError: with diffy's reason when the patch is malformed.
    """
    lines = _split_lines(text)
    i = next((n for n, line in enumerate(lines) if line.startswith(("--- ", "+++ ", "@@ "))), len(lines))
    for prefix in ("--- ", "+++ "):
        if i < len(lines) and lines[i].startswith(prefix):
            i += 1
    hunks = []
    while i < len(lines):
        old_count, new_start, new_count = _header(lines[i])
        i += 1
        body: list[tuple[str, str]] = []
        while i < len(lines) and not lines[i].startswith("@"):
            line = lines[i]
            if line.rstrip("\n") == _NO_NEWLINE:
                if not body:
                    raise ValueError("unexpected 'No newline at end of file' line")
                kind, previous = body[-1]
                body[-1] = (kind, previous.removesuffix("\n"))
            elif line == "\n":
                body.append((" ", "\n"))
            elif line[0] in " -+":
                body.append((line[0], line[1:]))
            else:
                raise ValueError("unexpected line in hunk body")
            i += 1
        hunk = Hunk(new_start, tuple(body))
        if len(hunk.old()) != old_count or len(hunk.new()) != new_count:
            raise ValueError("Hunk header does not match hunk")
        hunks.append(hunk)
    return hunks


def _positions(start: int, length: int) -> list[int]:
    """Return candidate positions: ``start``, then back and forth alternately."""
    order = [start]
    back, forward = list(range(start - 1, -1, -1)), list(range(start + 1, length))
    for k in range(max(len(back), len(forward))):
        order += back[k:k + 1] + forward[k:k + 1]
    return order


def apply_patch(text: str, hunks: list[Hunk]) -> str:
    """Apply hunks to text exactly.

    :raises ValueError: ``error applying hunk #N`` when a hunk's lines are not found.
    """
    image = [(line, False) for line in _split_lines(text)]
    for number, hunk in enumerate(hunks, start=1):
        old = hunk.old()
        for pos in _positions(max(hunk.new_start - 1, 0), len(image)):
            window = image[pos:pos + len(old)]
            if len(window) == len(old) and not any(p for _l, p in window) and [text for text, _p in window] == old:
                image[pos:pos + len(old)] = [(line, True) for line in hunk.new()]
                break
        else:
            raise ValueError(f"error applying hunk #{number}")
    return "".join(line for line, _patched in image)


def apply_patch_file(text: str, path: Path) -> str:
    """Apply the patch file at ``path`` to ``text`` (diesel's ``patch_file`` option).

    :raises SchemaError: when the file cannot be read, parsed or applied.
    """
    try:
        existing_regular(path, what="patch file")  # a FIFO would block the read
        patch = Path(path).read_text(encoding="utf-8")
    except FileWriteError as error:
        raise SchemaError(f"Failed to read patch file at {path}: {error}") from error
    except UnicodeDecodeError as error:
        raise SchemaError(with_advice(f"Failed to read patch file at {path}: stream did not contain valid UTF-8",
                                      "save the patch file as UTF-8"), path=path) from error
    except OSError as error:  # diesel prints this line, then `Encountered an IO error: … for `<path>``
        raise SchemaError(with_advice(f"Failed to read patch file at {path}: {error.strerror} (os error "
                                      f"{error.errno})", "fix `patch_file` in diesel.toml, or --patch-file"),
                          path=path) from error
    try:
        hunks = parse_patch(patch)
    except ValueError as error:
        raise SchemaError(with_advice(f"Failed to parse patch file: error parsing patch: {error}",
                                      f"{path}: regenerate the patch with `git diff`"), path=path) from error
    if not hunks:
        what = "is empty" if not patch.strip() else "holds no hunk (no `@@` line)"
        print(f"lightnb: patch file {path} {what}: the schema is printed unpatched, as diesel does; "
              f"fix the patch or remove `patch_file` / --patch-file", file=sys.stderr)
    try:
        return apply_patch(text, hunks)
    except ValueError as error:
        raise SchemaError(with_advice(f"Failed to apply patch: {error}", f"the printed schema no longer matches "
                                      f"the context of {path}; update the patch file"), path=path) from error
