"""The inspect step's measured impact, taken ahead, while a captured step runs.

A captured run (or revert) keeps a copy of the workspace as it was before (its before copy); the inspect step
then measures the migrations' SQL on that copy, in place, one after the other (each on the state the ones before
it leave), in one transaction rolled back (:func:`lightnb.inspect.impact.measure_impacts`), which costs about what
the migrations themselves cost. Asked to (:attr:`lightnb.results.Capture.impact`: a workbook's Run panel, whose
Inspect panel follows), the step measures it beside the migrations instead: as each migration starts on the
workspace, a reader thread measures its SQL on the before copy, after the ones before it, so the two cores work
at once, one on each file. The step ends once both are done.

The inspect step takes a measurement only while it is provably the one it would make then (:meth:`Ahead.take`):
the same SQL to the letter, the same masks (never revealed), on the same copy, still in the committed state the
measurements left (:func:`lightnb.backends.sqlite.committed_state`: its file, size, times and change counter).
Otherwise, or when a measurement could not be made here (SQL that is not measured in place, an error, a stop),
the inspect step measures, as before, and says what it says.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.backends import sqlite
from lightnb.reader import Reader

if TYPE_CHECKING:
    from lightnb.inspect.impact import Impact
    from lightnb.inspect.redact import Redactor


@dataclass(frozen=True)
class Ahead:
    """What a captured step measured ahead: its scripts' impacts on ``copy``, then in the committed ``state``.

    :param copy: the before copy measured.
    :param state: the copy's committed state once every measurement was done (None: it cannot be proven later).
    :param redactor: the masks the examples were measured with (never revealed).
    :param scripts: the scripts measured, to the letter, in the order the step ran them: each measured on the
        state the ones before it leave (:func:`lightnb.inspect.impact.measure_impacts`).
    :param impacts: per script, in that order, what was measured.
    """

    copy: Path
    state: tuple[int, ...] | None
    redactor: Redactor
    scripts: tuple[str, ...]
    impacts: tuple[tuple[Impact, ...], ...]

    def take(self, copy: str | Path, scripts: Sequence[str], redactor: Redactor) -> list[list[Impact]] | None:
        """The impacts of ``scripts`` (run in that order) on ``copy``, masked by ``redactor``, measured ahead, while
        provably what measuring them now would give; None otherwise (then measure them). The scripts measured
        ahead may go on after ``scripts`` (a step that stopped at a failing one): each script's impact depends
        only on the ones before it."""
        wanted = tuple(scripts)
        if redactor != self.redactor or self.state is None or not wanted or self.scripts[:len(wanted)] != wanted:
            return None
        if Path(copy) != self.copy or sqlite.committed_state(copy) != self.state:
            return None
        return [list(found) for found in self.impacts[:len(wanted)]]

    def moved(self, copy: str | Path) -> Ahead:
        """This measurement, of a file since moved (renamed, never written) to ``copy``: keyed by that path and the
        file's committed state there (a rename moves its status-change time). Only for a file provably in
        :attr:`state` when it was moved."""
        return replace(self, copy=Path(copy), state=sqlite.committed_state(copy))


class Measuring:
    """The measurements asked for while a step runs (:func:`measuring`); :meth:`measure` asks for one more."""

    def __init__(self, copy: Path, redactor: Redactor) -> None:
        self.copy, self.redactor = copy, redactor
        self._asked: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._scripts: list[str] = []
        self._done: list[tuple[Impact, ...]] = []
        self.result: Ahead | None = None

    def measure(self, script: str) -> None:
        """Measure ``script`` on the before copy too (the next migration the step runs on the workspace), on the
        state the scripts asked for before it leave."""
        self._asked.put(script)

    def _work(self, opened: Callable[[sqlite.Connection], None]) -> None:
        from lightnb.inspect.impact import measurable_after, measurable_in_place, measuring_in_place

        script = self._asked.get()
        # a script that cannot be measured in place (a throwaway copy of the whole file: inspect's, if it comes to that)
        # ends the measurements: the ones after it would not start from the state it leaves
        if script is None or not _measurable(lambda sql: measurable_in_place(self.copy, sql), script):
            return
        try:
            with measuring_in_place(self.copy, self.redactor, opened=opened) as measure:
                while script is not None and _measurable(measurable_after, script):
                    found = tuple(measure(script))
                    self._scripts.append(script)
                    self._done.append(found)
                    if any(i.kind == "error" for i in found):
                        break  # the step stops there too
                    script = self._asked.get()
        except Exception:  # noqa: BLE001 - stopped, or not measurable: the inspect step measures again, and says
            self._scripts.clear()  # what it says; the step itself never fails for a measurement ahead
            self._done.clear()

    def _close(self) -> None:
        self._asked.put(None)


def _measurable(measurable: Callable[[str], bool], script: str) -> bool:
    try:
        return measurable(script)
    except Exception:  # noqa: BLE001 - a script that cannot be split: not measured here
        return False


@contextmanager
def measuring(copy: Path, redactor: Redactor) -> Iterator[Measuring]:
    """Measure, in a reader thread, the scripts asked for during the block on the before copy ``copy``, with the
    masks of ``redactor``, each on the state the ones asked before it leave; the block ends once they are measured,
    and the measuring's :attr:`Measuring.result` holds them. An error in the block, Ctrl-C or SIGTERM stop the
    measurement at once (nothing of it is kept); no thread outlives the block.

    The block must not write ``copy`` (nor read it: a measurement may need the copy's whole file for a moment)."""
    asked = Measuring(copy, redactor)
    reader: Reader[None] = Reader(asked._work)
    with reader:
        try:
            yield asked
        finally:
            asked._close()  # nothing more is asked: the reader ends once the last script asked is measured
        reader.result()
    asked.result = Ahead(copy, sqlite.committed_state(copy), redactor, tuple(asked._scripts), tuple(asked._done))


# A result keeps what was measured ahead out of its fields (like a Change its row diff: lightnb.capture), so that
# nothing renders or serialises it; the inspect step takes it while it is provably what it would measure then.
_AHEAD = "_impact_ahead"


def keep_ahead(result: object, ahead: Ahead | None) -> None:
    """Let ``result`` (a step's :class:`~lightnb.results.RunResult`) hold ``ahead``."""
    object.__setattr__(result, _AHEAD, ahead)


def kept_ahead(result: object) -> Ahead | None:
    """What :func:`keep_ahead` let ``result`` hold (None when nothing was measured ahead)."""
    return getattr(result, _AHEAD, None)
