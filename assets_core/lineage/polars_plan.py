"""Reading a polars query plan for column lineage: which upstream columns each output column comes from, and how.

The plan is polars' IR as its ``NodeTraverser`` shows it (the resolved plan polars hands to its GPU engine):
each node knows its schema, each expression names its input columns. Every node becomes a :class:`Frame`:
output column -> {(upstream asset, column): how}, or :class:`Unknown` with the reason. What the reader does not
understand (a node or expression it has no rule for, a Python function polars cannot look into) makes the
columns it touches unknown, never wrong; and every node's columns are checked against polars' own schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

Origin = tuple[str, str]  # (asset, column)
COPIED, TRANSFORMED, AGGREGATED = "copied", "transformed", "aggregated"
_RANK = {COPIED: 0, TRANSFORMED: 1, AGGREGATED: 2}
# Functions that reduce a column to one value, as aggregations do (most reductions are Agg nodes already)
_REDUCING = {"null_count", "arg_max", "arg_min", "max_by", "min_by", "quantile", "corr", "product", "skew",
             "kurtosis", "entropy", "approx_n_unique", "mode", "booleanfunction.any", "booleanfunction.all",
             "booleanfunction.hasnulls", "bitwisefunction.and", "bitwisefunction.or", "bitwisefunction.xor"}
_SAME_VALUES = {"Filter", "SortBy", "Sort", "Slice"}  # expressions that pick or order values, not compute them
# expressions that compute their values from their inputs: the attributes that hold them
_COMPUTING = {"BinaryExpr": ("left", "right"), "Ternary": ("predicate", "truthy", "falsy"), "Function": ("input",),
              "Gather": ("expr", "idx")}
_ROW_KEYS = {"Filter": ("predicate",), "Sort": ("by_column",)}  # the plan steps' expressions that choose rows


class Opaque(Exception):
    """Something in the plan (or the function) the lineage cannot see through; the message says what."""


@dataclass(frozen=True)
class Unknown:
    """A column whose lineage is unknown, and why."""

    why: str


Lineage = dict[Origin, str] | Unknown  # origin -> how, or why it is unknown


@dataclass
class Frame:
    """What a plan node outputs: each column's lineage, its dtypes, and the upstream columns used so far to
    filter, join, group or sort."""

    columns: dict[str, Lineage]
    dtypes: dict[str, Any]
    used: frozenset[Origin] = field(default_factory=frozenset)


def deeper(how: str, level: str) -> str:
    """The stronger of two ways a value is made.

    >>> deeper(COPIED, TRANSFORMED), deeper(AGGREGATED, TRANSFORMED)
    ('transformed', 'aggregated')
    """
    return how if _RANK[how] >= _RANK[level] else level


def merge(parts: Iterable[Lineage]) -> Lineage:
    """The lineage of a value made of all ``parts``: unknown if any part is.

    >>> merge([{("a", "x"): COPIED}, {("a", "x"): TRANSFORMED, ("b", "y"): COPIED}])
    {('a', 'x'): 'transformed', ('b', 'y'): 'copied'}
    """
    known: list[dict[Origin, str]] = []
    for part in parts:
        if isinstance(part, Unknown):
            return part
        known.append(part)
    return combine(known)


def combine(parts: Iterable[dict[Origin, str]]) -> dict[Origin, str]:
    """The origins of all ``parts``, each with the strongest way it is made."""
    found: dict[Origin, str] = {}
    for part in parts:
        for origin, how in part.items():
            found[origin] = deeper(how, found.get(origin, COPIED))
    return found


class PlanReader:
    """Walks one plan from its root; ``leaves`` maps ``id()`` of each upstream's IO source to the asset."""

    def __init__(self, traverser: Any, leaves: Mapping[int, str]):
        self.nt = traverser
        self.leaves = leaves
        self.memo: dict[int, Frame] = {}

    def root(self) -> Frame:
        return self.frame(self.nt.get_node())

    def frame(self, node: int) -> Frame:
        """The frame a node outputs (each node read once: a plan may reach one node twice)."""
        found = self.memo.get(node)
        if found is None:
            self.nt.set_node(node)
            schema = dict(self.nt.get_schema())
            kind = "?"
            try:
                view = self.nt.view_current_node()
                kind = type(view).__name__
                found = self._read(kind, view, schema)
            except NotImplementedError as error:
                found = _unknown(schema, f"the plan holds {hidden(error)}")
            except Opaque as why:
                found = _unknown(schema, str(why))
            except Exception as error:  # a plan shaped otherwise than this polars version's: say so, never crash
                found = _unknown(schema, f"the lineage cannot read polars' {kind} step ({type(error).__name__}: "
                                         f"{error})")
            if list(found.columns) != list(schema):
                found = _unknown(schema, f"polars gives the columns {list(schema)} where the lineage expected "
                                         f"{list(found.columns)}")
            found.dtypes = schema
            self.memo[node] = found
        return found

    def _read(self, kind: str, node: Any, schema: dict[str, Any]) -> Frame:
        if kind in ("Select", "HStack"):
            base = self.frame(node.input)
            exprs = node.expr if kind == "Select" else node.exprs
            columns = {} if kind == "Select" else dict(base.columns)
            used = set(base.used)
            for expr in exprs:
                columns[expr.output_name] = self.value(expr.node, base, COPIED, used)
            return Frame(columns, {}, frozenset(used))
        if kind in ("Filter", "Sort", "Distinct", "Slice", "Cache", "SimpleProjection"):
            base = self.frame(node.input)
            used = self.uses(base, [key.node for key in _inputs(node, _ROW_KEYS.get(kind, ()))])
            if kind == "Distinct" and node.options[1]:
                used |= {o for name in node.options[1] for o in _origins(base.columns.get(name, {}))}
            columns = {name: base.columns[name] for name in schema} if kind == "SimpleProjection" else base.columns
            return Frame(dict(columns), {}, base.used | used)
        reader = getattr(self, f"_{kind.lower()}", None)
        if reader is None:
            raise Opaque(_STEPS.get(kind, f"the plan holds a {kind} step, which the lineage does not understand"))
        frame: Frame = reader(node, schema)
        return frame

    def value(self, expr: int, frame: Frame, level: str, used: set[Origin]) -> Lineage:
        """The lineage of one output expression (unknown, with why, when it cannot be read)."""
        try:
            return self.expr(expr, frame, level, used)
        except NotImplementedError as error:
            return Unknown(f"it is computed by {hidden(error)}")
        except Opaque as why:
            return Unknown(str(why))

    def expr(self, n: int, frame: Frame, level: str, used: set[Origin]) -> dict[Origin, str]:
        """The origins of an expression's values, each with how it is made; columns it only filters or sorts
        by go to ``used``."""
        e = self.nt.view_expression(n)
        kind = type(e).__name__
        if kind == "Column":
            found = frame.columns.get(e.name, Unknown(f"it reads a column '{e.name}' the plan does not have"))
            if isinstance(found, Unknown):
                raise Opaque(found.why)
            return {origin: deeper(how, level) for origin, how in found.items()}
        if kind in ("Literal", "Len"):
            return {}
        if kind == "Cast":
            inner = self.nt.view_expression(e.expr)
            same = type(inner).__name__ == "Column" and frame.dtypes.get(inner.name) == e.dtype
            return self.expr(e.expr, frame, level if same else deeper(level, TRANSFORMED), used)
        if kind == "Agg":
            return self._all(e.arguments, frame, AGGREGATED, used)
        if kind == "Window":
            used |= self.uses(frame, [*e.partition_by, *([] if e.order_by is None else [e.order_by])])
            return self.expr(e.function, frame, deeper(level, TRANSFORMED), used)
        if kind in _SAME_VALUES:
            used |= self.uses(frame, _inputs(e, ("by",) if kind in ("Filter", "SortBy") else ()))
            inner = e.input if kind in ("Filter", "Slice") else e.expr
            extra = _inputs(e, ("offset", "length") if kind == "Slice" else ())
            return combine([self.expr(inner, frame, level, used), self._all(extra, frame, TRANSFORMED, used)])
        if kind == "Function" and _function_name(e.function_data) in _REDUCING:
            return self._all(e.input, frame, AGGREGATED, used)
        if kind not in _COMPUTING:
            raise Opaque(f"it is computed by a {kind} expression, which the lineage does not understand")
        return self._all(_inputs(e, _COMPUTING[kind]), frame, deeper(level, TRANSFORMED), used)

    def _all(self, exprs: Iterable[int], frame: Frame, level: str, used: set[Origin]) -> dict[Origin, str]:
        return combine(self.expr(n, frame, level, used) for n in exprs)

    def uses(self, frame: Frame, exprs: Iterable[int]) -> set[Origin]:
        """The origins of expressions that filter, join, group or sort: any of them unreadable makes every
        column of the step unknown (the rows it keeps depend on it)."""
        used: set[Origin] = set()
        for n in exprs:
            try:
                used |= set(self.expr(n, frame, COPIED, used))
            except NotImplementedError as error:
                raise Opaque(f"its rows are chosen by {hidden(error)}") from error
            except Opaque as why:
                raise Opaque(f"its rows are chosen by an expression whose lineage is unknown: {why}") from why
        return used

    def _pythonscan(self, node: Any, schema: dict[str, Any]) -> Frame:
        leaf = getattr(node.options[0], "io_source", None)
        asset = self.leaves.get(id(leaf))
        if asset is None:
            raise Opaque("it reads a Python data source that is no upstream")
        return Frame({name: {(asset, name): COPIED} for name in schema}, {})

    def _groupby(self, node: Any, schema: dict[str, Any]) -> Frame:
        if node.apply or node.options.dynamic is not None or node.options.rolling is not None:
            raise Opaque("it groups with map_groups, group_by_dynamic or rolling, which the lineage does not "
                         "understand")
        base = self.frame(node.input)
        used = set(base.used) | self.uses(base, [key.node for key in node.keys])
        columns = {key.output_name: self.value(key.node, base, COPIED, used) for key in node.keys}
        for agg in node.aggs:
            columns[agg.output_name] = self.value(agg.node, base, AGGREGATED, used)
        return Frame(columns, {}, frozenset(used))

    def _join(self, node: Any, schema: dict[str, Any]) -> Frame:
        how, _, _, suffix, coalesce, *_ = node.options
        kind = how[0] if isinstance(how, tuple) else how
        if node.predicate is not None:
            raise Opaque("it joins on a predicate (join_where), which the lineage does not understand")
        left, right = self.frame(node.input_left), self.frame(node.input_right)
        used = set(left.used | right.used)
        used |= self.uses(left, [key.node for key in node.left_on])
        used |= self.uses(right, [key.node for key in node.right_on])
        if kind in ("Semi", "Anti"):
            return Frame(dict(left.columns), {}, frozenset(used))
        if kind not in ("Inner", "Left", "Right", "Full", "Cross", "AsOf"):
            raise Opaque(f"it joins with how='{kind.lower()}', which the lineage does not understand")
        pairs = [(self._name(lk.node), self._name(rk.node)) for lk, rk in zip(node.left_on, node.right_on)]
        keys = [(lk, rk) for lk, rk in pairs if lk and rk] if coalesce and kind != "Cross" else []
        if kind == "AsOf" and len(how) > 5:  # join_asof(by=...): the right "by" columns give way to the left ones
            by = list(zip(how[4] or [], how[5] or []))
            keys += by
            used |= {o for lk, rk in by for o in _origins(left.columns[lk]) | _origins(right.columns[rk])}
        if kind == "Right":  # the left keys give way to the right ones
            columns = {name: v for name, v in left.columns.items() if name not in {lk for lk, _ in keys}}
            for name, found in right.columns.items():
                columns[name + suffix if name in columns else name] = found
            return Frame(columns, {}, frozenset(used))
        columns = dict(left.columns)
        for name, found in right.columns.items():
            if name not in {rk for _, rk in keys}:
                columns[name + suffix if name in columns else name] = found
        if kind == "Full":  # a coalesced key holds the left key's value, else the right one's
            for lk, rk in keys:
                columns[lk] = merge([left.columns[lk], right.columns[rk]])
        return Frame(columns, {}, frozenset(used))

    def _name(self, expr: int) -> str | None:
        """The column an expression is, if it is just a column."""
        e = self.nt.view_expression(expr)
        return str(e.name) if type(e).__name__ == "Column" else None

    def _union(self, node: Any, schema: dict[str, Any]) -> Frame:
        frames = [self.frame(n) for n in node.inputs]
        for frame in frames:
            if list(frame.columns) != list(schema):
                raise Opaque("it concatenates frames whose columns differ in the plan")
        columns = {name: merge([frame.columns[name] for frame in frames]) for name in schema}
        return Frame(columns, {}, frozenset().union(*(frame.used for frame in frames)))

    def _mergesorted(self, node: Any, schema: dict[str, Any]) -> Frame:
        frame = self._union(SimpleNamespace(inputs=[node.input_left, node.input_right]), schema)
        keys = node.key if isinstance(node.key, list) else [node.key]
        return Frame(frame.columns, {}, frame.used.union(*(_origins(frame.columns.get(key, {})) for key in keys)))

    def _scan(self, node: Any, schema: dict[str, Any]) -> Frame:
        paths = list(getattr(node, "paths", None) or [])
        more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
        raise Opaque(f"it reads {paths[0] if paths else 'files'}{more} itself, which is no upstream")

    def _hconcat(self, node: Any, schema: dict[str, Any]) -> Frame:
        frames = [self.frame(n) for n in node.inputs]
        columns: dict[str, Lineage] = {}
        for frame in frames:
            columns.update(frame.columns)
        return Frame(columns, {}, frozenset().union(*(frame.used for frame in frames)))

    def _mapfunction(self, node: Any, schema: dict[str, Any]) -> Frame:
        function = node.function
        name = function[0] if isinstance(function, tuple) else str(function)
        base = self.frame(node.input)
        columns = dict(base.columns)
        if name == "explode":  # the exploded columns hold their lists' items
            for column in function[1]:
                columns[column] = _retyped(columns[column], TRANSFORMED)
        elif name == "unpivot":  # the variable column holds column names: no values of any
            index, on, variable, value = function[1], function[2], function[3], function[4]
            on = on or [c for c in base.columns if c not in index]
            columns = {c: base.columns[c] for c in index}
            columns[variable] = {}
            columns[value] = merge([base.columns[c] for c in on])
        elif name in ("hint_sorted", "rechunk"):  # no change to any value
            pass
        elif name == "row_index":
            columns = {function[1]: {}, **columns}
        elif name == "unnest":
            columns = {}
            for column, found in base.columns.items():
                if column in function[1]:
                    fields = getattr(base.dtypes[column], "fields", [])
                    columns.update({f.name: _retyped(found, TRANSFORMED) for f in fields})
                else:
                    columns[column] = found
        else:
            raise Opaque(f"the plan holds a '{name}' step, which the lineage does not understand")
        return Frame(columns, {}, base.used)


_STEPS = {
    "DataFrameScan": "it builds a frame of its own (a literal frame, or data it read or collected itself)",
}


def hidden(error: NotImplementedError) -> str:
    """What polars would not show (its traverser raises NotImplementedError naming it), in the user's words.

    >>> hidden(NotImplementedError("list.eval"))
    "'list.eval', whose inputs polars does not show"
    """
    text = str(error)
    if "anonymous" in text or "python" in text:
        return f"a Python function (map_elements, map_batches or the like; polars calls it '{text}'), which " \
               "cannot be looked into"
    return f"'{text}', whose inputs polars does not show"


def _function_name(data: Any) -> str:
    """A Function node's name, from its ``function_data`` (a tuple whose head is a name or an enum member).

    >>> _function_name(("quantile", "nearest"))
    'quantile'
    """
    head = data[0] if isinstance(data, tuple) and data else data
    return str(head).lower()


def _inputs(view: Any, attributes: Iterable[str]) -> list[Any]:
    """The values of a view's attributes, lists flattened."""
    found: list[Any] = []
    for attribute in attributes:
        value = getattr(view, attribute)
        found += value if isinstance(value, list) else [value]
    return found


def _retyped(found: Lineage, level: str) -> Lineage:
    if isinstance(found, Unknown):
        return found
    return {origin: deeper(how, level) for origin, how in found.items()}


def _origins(found: Lineage) -> set[Origin]:
    return set() if isinstance(found, Unknown) else set(found)


def _unknown(schema: Mapping[str, Any], why: str) -> Frame:
    return Frame({name: Unknown(why) for name in schema}, {})
