"""What is wrong with a telemetry batch: each problem with where it is (line, row index) and the column,
at most :attr:`IntakeRejected.LISTED` of them named and the rest counted."""

from __future__ import annotations

from dataclasses import dataclass

from portal.core import i18n
from portal.core.i18n import _, ngettext


@dataclass(frozen=True)
class Problem:
    where: str | None  # "line 12" (CSV, JSON Lines), "row index 3" (Parquet); None: the whole file
    column: str | None
    message: str

    def __str__(self) -> str:
        head = self.where or _("file")
        return f"{head}: {self.column}: {self.message}" if self.column else f"{head}: {self.message}"


class IntakeRejected(ValueError):
    """The batch had problems; nothing was written. ``problems`` are the first ones in file order."""

    LISTED = 20

    def __init__(self, source: str, problems: list[Problem], total: int | None = None) -> None:
        self.source = source
        self.problems = tuple(problems)
        self.total = max(total if total is not None else len(problems), len(problems))
        super().__init__(str(self))

    def __str__(self) -> str:
        head = ngettext("{n} problem(s) in {source}; nothing was written:",
                        "{n} problem(s) in {source}; nothing was written:", self.total).format(
            n=i18n.number(self.total), source=self.source)
        lines = [head, *(str(p) for p in self.problems)]
        if self.total > len(self.problems):
            lines.append(_("and {n} more").format(n=i18n.number(self.total - len(self.problems))))
        return "\n  ".join(lines)
