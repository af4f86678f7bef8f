"""Read a ``.env`` file the way diesel_cli does (it calls ``dotenvy::dotenv()``, dotenvy 0.15).

The rules, as dotenvy applies them:

* a line is ``KEY=value``, optionally after ``export``; a key starts with an ASCII letter or ``_``
  and goes on with ASCII letters, digits, ``_`` and ``.``; blank lines and ``#`` lines are skipped;
* an unquoted value ends at a blank (then only blanks or a ``# comment`` may follow); ``\\`` escapes
  ``\\``, ``'``, ``"``, ``$`` and a space, and ``\\n`` is a newline; any other escape is an error;
* ``'…'`` keeps its text as written; ``"…"`` takes the same escapes; both may span lines;
* ``$NAME`` and ``${NAME}`` (not inside ``'…'``) take the variable from the environment first, else
  from the lines above, else nothing; a name is made of letters and digits;
* the first value of a key wins, and a variable already in the environment is never replaced;
* a byte-order mark at the start is skipped; the first line that does not parse is an error.

Python's ``python-dotenv`` reads the same files differently (``$NAME`` without braces, the last
value of a key, a value from the file before the environment's), and costs more to import than a
whole listing's other work, so lightnb reads ``.env`` here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

# Rust's char::is_whitespace (Unicode White_Space), which str.isspace() is not quite.
_WHITESPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                        "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_ESCAPED = {"\\": "\\", "'": "'", '"': '"', "$": "$", " ": " ", "n": "\n"}


class EnvFileError(ValueError):
    """A line of a ``.env`` file that does not parse.

    :param line: the physical line (1-based) where the entry starts.
    :param text: what dotenvy reports: the entry (several lines for a quoted value that spans them), or
        its value when the value is what does not parse.
    :param index: where in ``text`` reading failed (dotenvy's "error at line index").
    :param entry: the whole entry.
    """

    def __init__(self, line: int, text: str, index: int, entry: str | None = None) -> None:
        super().__init__(f"Error parsing line: '{text}', error at line index: {index}")
        self.line, self.text, self.index = line, text, index
        self.entry = text if entry is None else entry


def read_env(text: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables a ``.env`` file's ``text`` adds to ``environ`` (never those ``environ`` has).

    :raises EnvFileError: at the first entry that does not parse.
    """
    added: dict[str, str] = {}
    parsed: dict[str, str] = {}  # every entry so far, for ${NAME} (dotenvy's substitution data)

    def lookup(name: str) -> str:
        if name in environ:
            return environ[name]
        return added.get(name, parsed.get(name, ""))

    for number, entry in _entries(text.removeprefix("\ufeff")):
        found = _parse_entry(number, entry, lookup)
        if found is None:
            continue
        key, value = found
        parsed[key] = value
        if key not in environ and key not in added:
            added[key] = value
    return added


def _strip_start(text: str) -> str:
    i = 0
    while i < len(text) and text[i] in _WHITESPACE:
        i += 1
    return text[i:]


def _strip_end(text: str) -> str:
    i = len(text)
    while i > 0 and text[i - 1] in _WHITESPACE:
        i -= 1
    return text[:i]


# The states of dotenvy's reader of entries across lines (a quote left open goes on to the next line).
_COMPLETE, _ESCAPE, _STRONG, _STRONG_ESCAPE, _WEAK, _WEAK_ESCAPE, _COMMENT, _BLANK = range(8)


def _end_state(state: int, chunk: str) -> tuple[int, int]:
    """Return where a comment starts in ``chunk`` (else its last position) and the state after it."""
    position = 0
    for position, c in enumerate(chunk):
        if state == _BLANK:
            if c == "#":
                return position, _COMMENT
            state = {"\\": _ESCAPE, '"': _WEAK, "'": _STRONG}.get(c, _COMPLETE)
        elif state == _ESCAPE:
            state = _COMPLETE
        elif state == _COMPLETE:
            if c in _WHITESPACE and c not in "\n\r":
                state = _BLANK
            else:
                state = {"\\": _ESCAPE, '"': _WEAK, "'": _STRONG}.get(c, _COMPLETE)
        elif state == _WEAK:
            state = {"\\": _WEAK_ESCAPE, '"': _COMPLETE}.get(c, _WEAK)
        elif state == _WEAK_ESCAPE:
            state = _WEAK
        elif state == _STRONG:
            state = {"\\": _STRONG_ESCAPE, "'": _COMPLETE}.get(c, _STRONG)
        elif state == _STRONG_ESCAPE:
            state = _STRONG
    return position, state


def _entries(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(first line number, entry)``: lines split at ``\\n`` only, joined while a quote is open."""
    lines = text.split("\n")
    chunks = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    i = 0
    while i < len(chunks):
        start, entry, state = i + 1, "", _COMPLETE
        while True:
            if i == len(chunks):  # the file ended inside a quote (or after an escape, or blanks)
                raise EnvFileError(start, entry, _width(entry))
            at = len(entry)
            entry += chunks[i]
            i += 1
            if _strip_start(entry).startswith("#"):
                entry = ""
                break
            position, state = _end_state(state, entry[at:])
            if state == _COMPLETE:
                if entry.endswith("\n"):  # the line's end: "\n", or "\r\n"
                    entry = entry[:-1].removesuffix("\r")
                break
            if state == _COMMENT:
                entry = entry[:at + position]
                break
        yield start, entry


def _parse_entry(number: int, entry: str, lookup: Callable[[str], str]) -> tuple[str, str] | None:
    """Read one entry: None for a blank or comment line, else ``(key, value)`` (dotenvy's LineParser)."""
    line, position = _strip_end(entry), 0

    def skip_blanks() -> None:
        nonlocal line, position
        rest = _strip_start(line)
        position += _width(line[:len(line) - len(rest)])
        line = rest

    def key() -> str:
        nonlocal line, position
        if not line or not (line[0] == "_" or (line[0].isascii() and line[0].isalpha())):
            raise EnvFileError(number, entry, position)
        end = 0
        while end < len(line) and (line[end] in "_." or (line[end].isascii() and line[end].isalnum())):
            end += 1
        name, line, position = line[:end], line[end:], position + end
        return name

    def equal_sign() -> bool:
        nonlocal line, position
        if not line.startswith("="):
            return False
        line, position = line[1:], position + 1
        return True

    skip_blanks()
    if not line or line.startswith("#"):
        return None
    name = key()
    skip_blanks()
    if not equal_sign():
        if name != "export":  # `export` is a prefix, or a key of its own (`export=…`)
            raise EnvFileError(number, entry, position)
        name = key()
        skip_blanks()
        if not equal_sign():
            raise EnvFileError(number, entry, position)
    skip_blanks()
    if not line or line.startswith("#"):
        return name, ""
    try:
        return name, _value(number, line, lookup)
    except EnvFileError as error:
        raise EnvFileError(number, error.text, error.index, entry) from None


def _width(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _value(number: int, text: str, lookup: Callable[[str], str]) -> str:
    """Read a value as dotenvy's parse_value does (quotes, escapes, ``$NAME`` and ``${NAME}``)."""
    strong = weak = escaped = expecting_end = False
    out: list[str] = []
    mode = ""  # "" no substitution, "$" reading $NAME, "{" reading ${NAME}
    name: list[str] = []

    def substitute() -> None:
        out.append(lookup("".join(name)))
        name.clear()

    for index, c in enumerate(text):
        if expecting_end:  # after a blank: only blanks, or a comment
            if c in " \t":
                continue
            if c == "#":
                break
            raise EnvFileError(number, text, index)
        if escaped:
            if c not in _ESCAPED:
                raise EnvFileError(number, text, index)
            out.append(_ESCAPED[c])
            escaped = False
        elif strong:
            if c == "'":
                strong = False
            else:
                out.append(c)
        elif mode:
            if c.isalnum():
                name.append(c)
            elif mode == "$":
                if c == "{" and not name:
                    mode = "{"
                else:
                    substitute()
                    if c != "$":
                        mode = ""
                        out.append(c)
            elif c == "}":
                mode = ""
                substitute()
            else:
                name.append(c)
        elif c == "$":
            mode = "$"
        elif weak:
            if c == '"':
                weak = False
            elif c == "\\":
                escaped = True
            else:
                out.append(c)
        elif c == "'":
            strong = True
        elif c == '"':
            weak = True
        elif c == "\\":
            escaped = True
        elif c in " \t":
            expecting_end = True
        else:
            out.append(c)
    if mode == "{" or strong or weak:
        raise EnvFileError(number, text, max(_width(text) - 1, 0))
    substitute()
    return "".join(out)
