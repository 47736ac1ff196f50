"""Plans: which of the selected nodes run, and why, from their statuses (:func:`~assets_core.planning.plan.assess`),
and a check that every input they read outside the selection holds a value."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from assets_core.errors import SelectionError
from assets_core.planning.nodes import NodeGraph
from assets_core.planning.partition_status import with_reasons
from assets_core.planning.plan import MISSING, WAITS_FOR_UPSTREAM, Plan, Reason, ReasonKind, Status, Step
from assets_core.planning.state import AssetState, split_node


def build_plan(graph: NodeGraph, selected: Collection[str], statuses: Mapping[str, Status],
               state: Mapping[str, AssetState], force: bool | Collection[str] = False) -> Plan:
    """The selected nodes (assets, or partitions of them) that must run, with their reasons; check that every
    unselected input exists.

    ``force`` reruns every selected node (``True``) or the named ones; the others run only when stale, and
    at run time early cutoff may still skip them when what they read did not change.
    """
    if not force:
        every = frozenset(selected)
        if not any(node in every for node in with_reasons(statuses)):
            return Plan((), every, ())  # the usual no-op: no selected node has a reason to run
    plain, by_name = graph.plain, graph.assets.by_name
    chosen = {name for name in selected if not (by_name.get(name) or graph[name]).is_source}  # a node: its asset's
    forced = chosen if force is True else set(force or ())
    steps: list[Step] = []
    waiting: list[Step] = []
    planned: set[str] = set()
    for name in graph.order():
        if name not in chosen:
            continue
        if name in plain and name not in forced and not statuses[name].reasons \
                and planned.isdisjoint(by_name[name].upstream):
            continue  # the usual case: fresh, and nothing it reads runs
        if name in graph.plain:
            ahead = [up for up in graph.assets[name].upstream if up in planned]
        else:
            ahead = [up for up, nodes in graph.reads(name).items() if any(node in planned for node in nodes)]
        reasons = [r for r in statuses[name].reasons if r.kind not in WAITS_FOR_UPSTREAM or r.upstream in ahead]
        if not reasons and name not in forced and statuses[name].reasons:
            waiting.append(Step(name, statuses[name].reasons))
        reasons += [Reason(ReasonKind.UPSTREAM_STALE, f"upstream '{up}' runs first", up)
                    for up in ahead if not _names(reasons, up)]
        if name in forced:
            reasons.insert(0, Reason(ReasonKind.FORCED, "--force reruns it" if force is True else "asked to rerun it"))
        gaps = _gaps(graph, name, planned, statuses, state) if reasons and name not in graph.plain else ()
        if gaps:
            waiting.append(Step(name, gaps))
        elif reasons:
            steps.append(Step(name, tuple(reasons)))
            planned.add(name)
    _check_inputs(graph, planned, statuses, state)
    return Plan(tuple(steps), frozenset(selected), tuple(waiting))


def _names(reasons: list[Reason], upstream: str) -> bool:
    return any(r.upstream == upstream and r.kind in WAITS_FOR_UPSTREAM for r in reasons)


def _gaps(graph: NodeGraph, name: str, planned: set[str], statuses: Mapping[str, Status],
          state: Mapping[str, AssetState]) -> tuple[Reason, ...]:
    """Why a node cannot run yet: it reads partitions that hold no data and are not planned (a range of days
    selected, and a weekly or unpartitioned asset below that reads other days too). Such a node waits."""
    reasons = []
    for up, nodes in graph.reads(name).items():
        if graph.assets[up].is_source or graph.assets[up].partitions is None:
            continue
        empty = [n for n in nodes if n not in planned and _holds_nothing(n, statuses, state)]
        if empty:
            reasons.append(Reason(ReasonKind.UPSTREAM_STALE, f"it reads {len(empty)} partition(s) of '{up}' that hold "
                                  f"no data and are not selected, e.g. {empty[0]}; select them too", up))
    return tuple(reasons)


def _holds_nothing(node: str, statuses: Mapping[str, Status], state: Mapping[str, AssetState]) -> bool:
    return state.get(node, AssetState()).materialization is None or statuses[node].status == MISSING


PROBLEMS_SHOWN = 10  # a plan over many partitions names the first few that cannot run, and counts the rest


def _check_inputs(graph: NodeGraph, planned: set[str], statuses: Mapping[str, Status],
                  state: Mapping[str, AssetState]) -> None:
    problems = []
    for name in sorted(planned):
        for up in graph.upstream(name):
            if up in planned or graph[up].is_source:
                continue
            record = state.get(up, AssetState()).materialization
            if record is None or statuses[up].status == MISSING:
                problems.append(
                    f"asset '{name}' reads '{up}', which is not selected and has no stored value; "
                    f"select it too, e.g. '+{split_node(name)[0]}'")
    if len(problems) > PROBLEMS_SHOWN:
        problems = [*problems[:PROBLEMS_SHOWN], f"... and {len(problems) - PROBLEMS_SHOWN} more like these"]
    if problems:
        raise SelectionError("\n".join(problems))
