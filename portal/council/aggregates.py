"""Suppressed aggregates for the works council (pure polars + numpy, no I/O).

Invariant: a figure shown to the works council never describes fewer than
``k`` people, and no figure about 1..k-1 people can be recovered by
subtracting shown figures over nested populations. The privacy model behind
these rules, with its reasons, is written down in ``docs/council-privacy.md``.

Input is a table of *facts*: one row per person and group keys (for example
``person, department, category, week``) with additive measures (``records``).
``publish`` aggregates a *family* of views (tuples of dimensions, ``()`` is the
grand total) and decides which cells to show.  View P is a parent of view V
when P's dimensions are a proper subset of V's; every cell of V then lies
inside exactly one cell of P.  "People" is always a distinct-person count, so
a person present in several categories or weeks counts once per cell.

Two kinds of figure, protected differently:

* Measures (``records``, ``events``, ``requests``) are sums, so differences of
  nested cells and "parent minus its shown children" are exact figures about
  the people behind the rows they leave over. Rules 2 to 4 keep every such
  difference at 0 or at least k people.
* ``people`` is published rounded to the nearest multiple of k
  (:func:`round_people`). Its nested differences count people *without* a
  property (no record that week, none of that category): the number of people
  absent in a week, or whose activity was erased. The council knows department
  headcounts, so one exact weekly count already gives that number away, and
  suppressing every week that differs from the period by 1..k-1 people hid 96%
  of a real company's cells. Rounding leaves any difference of two published
  ``people`` figures uncertain by k-1 people either way, so it never pins down
  who or how many were absent; rule 2 then no longer compares ``people``.
  ``exact_people=True`` restores exact counts together with that comparison.

Algorithm (monotone: cells only ever move from shown to suppressed, so it
reaches a fixed point after at most as many rounds as there are cells):

1. Primary: suppress every cell with fewer than k distinct people.
2. Pairs (b): for a parent cell A and a contained cell B, precompute the
   persons behind the rows of A outside B (what a measure difference
   describes), and with ``exact_people`` also |P(A) \\ P(B)| (what a ``people``
   difference reveals).  If one is in 1..k-1 and both are shown, suppress B,
   the finer cell.
3. Margins (a): for every shown parent A and every child view V, look at the
   suppressed children of A in V.  There must be 0 or >= 2 of them, the
   distinct persons behind their rows must be 0 or >= k (that is what
   ``A - sum(shown children)`` describes), and the persons of A not covered
   by any shown child must be 0 or >= k.  Otherwise suppress the shown child
   with the fewest people (or A itself when no child is shown).
4. Repeat 2-3 until nothing changes, then audit: write every parent/child
   relation as a linear equation ``x_A = sum(x_children)`` over the
   suppressed cells (shown cells are constants) and test with an SVD whether
   any suppressed cell lies in the row space, i.e. is exactly solvable from
   chains of margins across several views.  For each solvable cell suppress
   the smallest shown cell sharing an equation with it and go back to 2.

Why it is safe: after the fixed point every shown cell has >= k people (1),
every measure difference of two nested shown cells describes 0 or >= k people
(2), "parent minus its shown children" describes 0 or >= k people (3), no
suppressed cell can be solved exactly from any combination of the additive
relations (4), and no difference of ``people`` figures is exact (rounding).
Distinct-person counts are not additive when people belong to several groups;
treating them as if they were (in 3 and 4) only makes the rules stricter.

What it over-suppresses: the greedy "smallest cell" choice is not optimal (the
optimal pattern is an NP-hard integer program), cells solvable only because
they describe >= k people are suppressed anyway, and rule 3 demands a second
suppressed sibling even when the first describes >= k people.  At company
scale this touches only the few cells around a primary one.

What it does not cover: interval (bounds) disclosure, e.g. that a suppressed
cell lies in [1, 4], that a rounded difference says "at least one person was
absent", or that a combination of three or more figures from non-nested views
isolates a small group; external knowledge beyond headcounts and who filed a
request; repeated publication over time (differences between releases).
Optional noise (``add_noise``) blunts the first and the last, see its docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import polars as pl

__all__ = ["publish", "round_people", "add_noise", "week_start"]

_RESERVED = ("people", "suppressed")
_P, _B, _C = "__person_code", "__base_cell", "__view_cell"


def week_start(column: str | pl.Expr) -> pl.Expr:
    """Truncate a date/datetime column to the Monday that starts its ISO week (as ``pl.Date``)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.truncate("1w").cast(pl.Date)


def _validate(schema: pl.Schema, person: str, dimensions: Sequence[str],
              views: Sequence[tuple[str, ...]], measures: Sequence[str], k: int) -> None:
    if not views:
        raise ValueError("views is empty: pass at least one view, e.g. [()] for the grand total")
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer >= 2 (got {k!r}); k=1 would show single persons")
    known = list(dimensions)
    for view in views:
        unknown = [d for d in view if d not in known]
        if unknown:
            raise ValueError(f"view {tuple(view)!r} uses unknown dimension(s) {unknown}; "
                             f"known dimensions: {known}")
        if len(set(view)) != len(view):
            raise ValueError(f"view {tuple(view)!r} repeats a dimension")
    seen: dict[frozenset[str], tuple[str, ...]] = {}
    for view in views:
        if frozenset(view) in seen:
            raise ValueError(f"views {seen[frozenset(view)]!r} and {tuple(view)!r} are the same view")
        seen[frozenset(view)] = tuple(view)
    clash = [c for c in (*known, *measures) if c in _RESERVED or c == person]
    if clash:
        raise ValueError(f"column(s) {clash} clash with the person column or the output "
                         f"columns {list(_RESERVED)}")
    if person not in schema:
        raise ValueError(f"missing person column {person!r}; columns: {list(schema)}")
    missing_dims = [d for d in known if d not in schema]
    if missing_dims:
        raise ValueError(f"missing dimension column(s) {missing_dims}; columns: {list(schema)}")
    missing = [m for m in measures if m not in schema]
    if missing:
        raise ValueError(f"missing measure column(s) {missing}; columns: {list(schema)}")
    non_numeric = [m for m in measures if not schema[m].is_numeric()]
    if non_numeric:
        raise ValueError(f"measure column(s) {non_numeric} are not numeric")


def _between(x: np.ndarray, k: int) -> np.ndarray:
    """Counts that would single out a small group: 1..k-1."""
    return (x >= 1) & (x < k)


def publish(facts: pl.DataFrame | pl.LazyFrame, dimensions: Sequence[str],
            views: Sequence[tuple[str, ...]], measures: Sequence[str], k: int = 5,
            *, person: str = "person", exact_people: bool = False) -> dict[tuple[str, ...], pl.DataFrame]:
    """Aggregate ``facts`` into every view and suppress cells (see module docstring).

    Returns ``{view: frame}``; each frame has the view's columns, ``people``,
    one summed column per measure (``people`` and measures are null when
    suppressed) and a boolean ``suppressed``, sorted by the view's columns.

    ``people`` is rounded to the nearest multiple of ``k`` (:func:`round_people`) and
    differences of ``people`` are then left to the rounding; with ``exact_people`` it is
    the exact count and rule 2 also suppresses every cell whose ``people`` differs from
    a nested shown cell's by 1..k-1 (which hides most weekly cells of a real company).
    """
    lf = facts.lazy()
    views = [tuple(v) for v in views]
    measures = list(measures)
    _validate(lf.collect_schema(), person, dimensions, views, measures, k)
    used = [d for d in dimensions if any(d in v for v in views)]
    schema = lf.collect_schema()
    casts = [pl.col(m).cast(pl.Int64 if schema[m].is_integer() else pl.Float64) for m in measures]
    base = lf.group_by([person, *used]).agg([c.sum() for c in casts]).collect()
    nulls = [c for c in (person, *used) if base[c].null_count()]
    if nulls:
        raise ValueError(f"column(s) {nulls} contain nulls; label unknown groups explicitly")
    base = base.with_columns(_person_codes(base[person]).alias(_P))
    if used:
        cells = base.select(used).unique().sort(used).with_row_index(_B)
        base = base.join(cells, on=used)
    else:
        cells = pl.DataFrame({_B: np.zeros(min(base.height, 1), dtype=np.uint32)})
        base = base.with_columns(pl.lit(0, dtype=pl.UInt32).alias(_B))
    pers, bcell = base[_P].to_numpy(), base[_B].to_numpy().astype(np.int64)

    # Cells of every view get global ids; keep distinct (person, cell) pairs per view.
    offset, keys, to_global, pairs = [], [], [], []
    total, n_persons = 0, int(pers.max()) + 1 if len(pers) else 0
    for view in views:
        if view:
            vk = cells.select(view).unique().sort(view).with_row_index(_C)
            local = cells.join(vk, on=list(view), how="left").sort(_B)[_C].to_numpy()
        else:
            vk = pl.DataFrame({_C: np.zeros(min(cells.height, 1), dtype=np.uint32)})
            local = np.zeros(cells.height, dtype=np.int64)
        offset.append(total)
        keys.append(vk)
        to_global.append(local.astype(np.int64) + total)
        if set(view) == set(used):
            pairs.append((pers, to_global[-1][bcell]))
        else:
            uniq = _unique_keys(pers * vk.height + local[bcell], n_persons * vk.height)
            pairs.append((uniq // vk.height, uniq % vk.height + total))
        total += vk.height
    people = np.bincount(np.concatenate([c for _, c in pairs]), minlength=total).astype(np.int64)
    suppressed = people < k

    # Parent/child relations between views, with static per-person counts.
    relations: list[_Relation] = []
    bad_child, bad_parent, eq_id, eq_cell, eq_coef = [], [], [], [], []
    n_eq = 0
    for i, child in enumerate(views):
        p, c = pairs[i]
        rows = _RowsOfCell(c, offset[i], keys[i].height)
        for j, par_view in enumerate(views):
            if not set(par_view) < set(child):
                continue
            parent = np.empty(keys[i].height, dtype=np.int64)
            parent[to_global[i] - offset[i]] = to_global[j]
            rel = _Relation(rows, p, parent, offset[j], keys[j].height, n_persons, total)
            relations.append(rel)
            only = np.bincount(c[rel.children_per_person() == 1] - offset[i], minlength=keys[i].height)
            kids = np.arange(offset[i], offset[i] + keys[i].height)
            bad = _between(people[parent] - only, k)
            if exact_people:
                bad |= _between(people[parent] - people[kids], k)
            bad_child.append(kids[bad])
            bad_parent.append(parent[bad])
            # One equation per parent cell: x_parent - sum(x_children) = 0.
            pcells = np.arange(offset[j], offset[j] + keys[j].height)
            eq_id += [n_eq + pcells - offset[j], n_eq + parent - offset[j]]
            eq_cell += [pcells, kids]
            eq_coef += [np.ones(len(pcells)), -np.ones(len(kids))]
            n_eq += len(pcells)
    bad_c, bad_p = _cat(bad_child), _cat(bad_parent)
    eqs = (_cat(eq_id), _cat(eq_cell), _cat(eq_coef).astype(float))

    while True:
        changed = True
        while changed:
            new = bad_c[~suppressed[bad_c] & ~suppressed[bad_p]]
            suppressed[new] = True
            changed = len(new) > 0
            for rel in relations:
                changed |= rel.margins(suppressed, people, k)
        if not _cover(_solvable(eqs, suppressed), eqs, suppressed, people):
            break
    sums = base.group_by(_B).agg(pl.col(measures).sum()).sort(_B)
    shown_people = people if exact_people else round_people(people, k)
    return {view: _frame(view, sums, to_global[i], offset[i], keys[i], shown_people, suppressed,
                         measures) for i, view in enumerate(views)}


def round_people(people: np.ndarray, k: int) -> np.ndarray:
    """Round distinct-person counts to the nearest multiple of ``k``, halves up (5, 6, 7 -> 5;
    8..12 -> 10 at k = 5). A count of at least ``k`` stays at least ``k``, and any two rounded
    counts leave their true difference uncertain by at least ``k`` - 1 people either way."""
    people = np.asarray(people, dtype=np.int64)
    return (2 * people + k) // (2 * k) * k


def _person_codes(column: pl.Series) -> pl.Series:
    """0-based person codes: the column itself when it already holds compact non-negative
    integers (as codes of a categorical do), else a dense rank."""
    if (column.dtype.is_integer() and len(column) and cast(int, column.min()) >= 0
            and cast(int, column.max()) < 2 * len(column)):
        return column.cast(pl.Int64)
    return column.rank("dense").cast(pl.Int64) - 1


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _dense(key: np.ndarray, space: int) -> np.ndarray:
    """Map non-negative integer keys to 0..n-1 (n = number of distinct keys)."""
    if space <= 20_000_000:
        seen = np.bincount(key, minlength=space) > 0
        return (np.cumsum(seen) - 1)[key]
    return pl.Series(key).rank("dense").to_numpy().astype(np.int64) - 1


def _unique_keys(key: np.ndarray, space: int) -> np.ndarray:
    if space <= 20_000_000:
        return np.flatnonzero(np.bincount(key, minlength=space))
    return np.unique(key)


class _RowsOfCell:
    """The (person, cell) rows of one view grouped by cell, sorted only when first needed."""

    def __init__(self, cells: np.ndarray, off: int, n_cells: int):
        self.cells, self.off, self.n_cells = cells, off, n_cells
        self._order: np.ndarray | None = None
        self._bounds: np.ndarray | None = None

    def of(self, local_cells: np.ndarray) -> np.ndarray:
        if self._order is None:
            self._order = np.argsort(self.cells, kind="stable")
            self._bounds = np.searchsorted(self.cells[self._order], np.arange(self.off, self.off + self.n_cells + 1))
        order, bounds = self._order, cast(np.ndarray, self._bounds)
        return np.concatenate([order[bounds[x]:bounds[x + 1]] for x in local_cells])


class _Relation:
    """Rule (a) for one (parent view, child view) pair, updated incrementally.

    A *group* is one person under one parent cell; its rows are that person's child cells there.
    """

    def __init__(self, rows: _RowsOfCell, persons: np.ndarray, parent: np.ndarray, parent_off: int,
                 parent_cells: int, n_persons: int, total: int):
        self.rows, self.off, self.parent, self.total = rows, rows.off, parent, total
        owner = parent[rows.cells - rows.off]  # the parent cell of every row
        self.key = persons * parent_cells + (owner - parent_off)
        self.space = n_persons * parent_cells
        self._group: np.ndarray | None = None
        self.hidden_rows = self.n = self.parent_of_group = cast(Any, None)  # arrays per group, set by _groups()
        self.counted = np.zeros(len(parent), dtype=bool)      # child cells already counted
        self.n_hidden = np.zeros(total, dtype=np.int64)       # suppressed children per parent
        self.persons_hidden = np.zeros(total, dtype=np.int64)  # persons behind those children
        self.uncovered = np.zeros(total, dtype=np.int64)      # persons with no shown child

    def children_per_person(self) -> np.ndarray:
        """For every row, how many child cells its person has under the row's parent cell."""
        if self.space <= 20_000_000:
            return np.bincount(self.key, minlength=self.space)[self.key]
        _, inverse, counts = np.unique(self.key, return_inverse=True, return_counts=True)
        return counts[inverse]

    def _groups(self) -> np.ndarray:
        if self._group is None:
            self._group = _dense(self.key, self.space)
            self.n = np.bincount(self._group)
            self.parent_of_group = np.empty(len(self.n), dtype=np.int64)
            self.parent_of_group[self._group] = self.parent[self.rows.cells - self.off]
            self.hidden_rows = np.zeros(len(self.n), dtype=np.int64)  # suppressed rows per group
        return self._group

    def margins(self, suppressed: np.ndarray, people: np.ndarray, k: int) -> bool:
        total, off = len(suppressed), self.off
        kids = np.arange(off, off + len(self.parent))
        new = np.flatnonzero(suppressed[kids] & ~self.counted)
        if len(new):
            group = self._groups()
            self.counted[new] = True
            groups, added = np.unique(group[self.rows.of(new)], return_counts=True)
            before = self.hidden_rows[groups]
            self.hidden_rows[groups] += added
            owner = self.parent_of_group[groups]
            self.persons_hidden += np.bincount(owner[before == 0], minlength=total)
            full = self.hidden_rows[groups] == self.n[groups]
            self.uncovered += np.bincount(owner[full], minlength=total)
            self.n_hidden += np.bincount(self.parent[new], minlength=total)
        bad = ~suppressed & ((self.n_hidden == 1) | _between(self.persons_hidden, k)
                             | _between(self.uncovered, k))
        if not bad.any():
            return False
        parent = self.parent
        cand = kids[~suppressed[kids] & bad[parent]]
        order = np.lexsort((cand, people[cand], parent[cand - off]))
        cand_par = parent[cand[order] - off]
        _, first = np.unique(cand_par, return_index=True)
        suppressed[cand[order][first]] = True
        suppressed[np.setdiff1d(np.flatnonzero(bad), cand_par)] = True  # no shown child left
        return True


def _solvable(eqs: tuple[np.ndarray, np.ndarray, np.ndarray], suppressed: np.ndarray) -> np.ndarray:
    """Suppressed cells whose value follows exactly from the shown cells via the margins."""
    eq, cell, coef = eqs
    keep = suppressed[cell]
    eq, cell, coef = eq[keep], cell[keep], coef[keep]
    if not len(cell):
        return np.zeros(0, dtype=np.int64)
    rows, row_of = np.unique(eq, return_inverse=True)
    cols, col_of = np.unique(cell, return_inverse=True)
    matrix = np.zeros((len(rows), len(cols)))
    matrix[row_of, col_of] = coef
    _, s, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((s > s.max() * max(matrix.shape) * 1e-12).sum()) if len(s) else 0
    in_row_space = (vt[:rank] ** 2).sum(axis=0) > 1 - 1e-6
    return cols[in_row_space]


def _cover(solvable: np.ndarray, eqs: tuple[np.ndarray, np.ndarray, np.ndarray],
           suppressed: np.ndarray, people: np.ndarray) -> bool:
    """For each solvable cell suppress the smallest shown cell in its equations, widening
    the search over suppressed neighbours when those equations hold no shown cell."""
    eq, cell, _ = eqs
    changed = False
    for u in solvable:
        reached = np.zeros(len(suppressed), dtype=bool)
        reached[u] = True
        while True:
            members = cell[np.isin(eq, eq[reached[cell]])]
            near = members[~suppressed[members]]
            if len(near):
                suppressed[near[np.lexsort((near, people[near]))[0]]] = changed = True
                break
            if reached[members].all():
                break
            reached[members] = True
    return changed


def _frame(view: tuple[str, ...], sums: pl.DataFrame, to_global: np.ndarray, off: int,
           vk: pl.DataFrame, people: np.ndarray, suppressed: np.ndarray,
           measures: list[str]) -> pl.DataFrame:
    local = to_global[sums[_B].to_numpy().astype(np.int64)] - off
    view_sums = (sums.select(measures).with_columns(pl.Series(_C, local, dtype=pl.UInt32))
                 .group_by(_C).agg(pl.col(measures).sum()))
    ids = np.arange(off, off + vk.height)
    out = (vk.join(view_sums, on=_C, how="left")
           .with_columns(pl.Series("people", people[ids]), pl.Series("suppressed", suppressed[ids])))
    out = out.with_columns(pl.when(~pl.col("suppressed")).then(pl.col(c)).alias(c)
                           for c in ("people", *measures))
    return out.sort(_C).select([*view, "people", *measures, "suppressed"])


def add_noise(frame: pl.DataFrame, epsilon: float, measures: Sequence[str],
              seed: int | None = None, *, sensitivity: float | Mapping[str, float] = 1,
              nonnegative: bool = True) -> pl.DataFrame:
    """Add Laplace noise to the shown values of ``measures`` (e.g. ``["people", "records"]``).

    Integer columns get discrete Laplace (two-sided geometric) noise, float
    columns continuous Laplace, both from OpenDP with scale
    ``sensitivity / epsilon``.  ``sensitivity`` is the most one person can
    change the column in L1 over the whole frame (a person in 20 cells of a
    ``people`` column has sensitivity 20; clip measures before summing to
    bound them).  ``epsilon`` is spent once per noised column (basic
    composition).  Suppressed (null) cells stay null; ``nonnegative`` clips
    results at 0 (post-processing).  The suppression pattern itself is not
    differentially private.

    OpenDP draws from a cryptographic RNG and cannot be seeded.  With a
    ``seed`` the noise comes from numpy instead: reproducible for tests and
    demos, but anyone who knows the seed can remove it, so never publish a
    seeded release.
    """
    if not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon must be a finite number > 0 (got {epsilon!r})")
    missing = [m for m in measures if m not in frame.columns]
    if missing:
        raise ValueError(f"missing measure column(s) {missing}; columns: {frame.columns}")
    non_numeric = [m for m in measures if not frame.schema[m].is_numeric()]
    if non_numeric:
        raise ValueError(f"measure column(s) {non_numeric} are not numeric")
    rng = np.random.default_rng(seed) if seed is not None else None
    out = frame
    for m in measures:
        sens = sensitivity[m] if isinstance(sensitivity, Mapping) else sensitivity
        if not sens > 0:
            raise ValueError(f"sensitivity for {m!r} must be > 0 (got {sens!r})")
        col = frame[m]
        shown = col.is_not_null()
        if "suppressed" in frame.columns:
            shown &= ~frame["suppressed"].fill_null(True)
        idx = np.flatnonzero(shown.to_numpy())
        if not len(idx):
            out = out.with_columns(pl.when(shown).then(col).alias(m))
            continue
        values = col.to_numpy()[idx]
        integer = col.dtype.is_integer()
        noisy = _noise(values, integer, sens, epsilon, rng)
        if nonnegative:
            noisy = np.maximum(noisy, 0)
        dtype = pl.Int64 if integer else pl.Float64
        full = pl.Series(m, [None] * len(col), dtype=dtype).scatter(idx, pl.Series(noisy, dtype=dtype))
        out = out.with_columns(full)
    return out


def _noise(values: np.ndarray, integer: bool, sens: float, epsilon: float,
           rng: np.random.Generator | None) -> np.ndarray:
    d_in = int(math.ceil(sens)) if integer else float(sens)
    scale = d_in / epsilon
    if rng is not None:
        if integer:  # difference of two geometric draws = discrete Laplace
            q = 1 - math.exp(-1 / scale)
            return values.astype(np.int64) + rng.geometric(q, len(values)) - rng.geometric(q, len(values))
        return values + rng.laplace(0.0, scale, len(values))
    import opendp.prelude as dp

    dp.enable_features("contrib")
    data: list[int] | list[float]
    if integer:
        space = dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64")
        data = [int(v) for v in values]
    else:
        space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
        data = [float(v) for v in values]
    measurement = dp.m.make_laplace(*space, scale=scale)
    spent = measurement.map(d_in)
    if spent > epsilon * (1 + 1e-9):
        raise ValueError(f"noise would spend epsilon={spent}, more than the requested {epsilon}")
    return np.asarray(measurement(data), dtype=np.int64 if integer else np.float64)
