"""The asset graph: declared assets checked all at once and joined by their upstream edges."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from string import Formatter
from typing import TypeVar

from assets_core.automation.declarations import Automation, FileSensor, Schedule, Sensor
from assets_core.automation.validation import condition_problems, selection_problems, split_automation
from assets_core.declaring.checks import Check, Freshness, check_problems
from assets_core.declaring.definitions import Asset
from assets_core.declaring.partition_mapping import check_mapping
from assets_core.errors import (
    CycleError,
    DefinitionError,
    DefinitionErrors,
    DuplicateAssetError,
    UnknownUpstreamError,
    did_you_mean,
)
from assets_core.planning.dag import DAG

T = TypeVar("T")


class AssetGraph:
    """A validated set of assets and the DAG of their upstream edges.

    >>> from assets_core.declaring.definitions import asset
    >>> @asset
    ... def a(): return 1
    >>> @asset
    ... def b(a): return a + 1
    >>> graph = AssetGraph.build([b, a])
    >>> graph.order(), graph.downstream("a")
    (['a', 'b'], ('b',))
    """

    def __init__(self, assets: dict[str, Asset], dag: DAG[str], checks: Iterable[Check] = (),
                 freshness: Iterable[Freshness] = (), schedules: Mapping[str, Schedule] | None = None,
                 sensors: Mapping[str, FileSensor | Sensor] | None = None):
        self._assets = assets
        self.dag = dag
        self._ordered: list[Asset] | None = None
        self.checks: dict[str, tuple[Check, ...]] = {}
        for item in checks:
            self.checks[item.asset] = (*self.checks.get(item.asset, ()), item)
        self.freshness: dict[str, Freshness] = {item.asset: item for item in freshness}
        self.schedules: dict[str, Schedule] = dict(schedules or {})  # by name
        self.sensors: dict[str, FileSensor | Sensor] = dict(sensors or {})  # by name, file sensors too

    @classmethod
    def build(cls, definitions: Iterable[Asset | Check | Freshness | Automation]) -> AssetGraph:
        """Check the assets (and the checks, schedules and sensors attached to them) and build their graph;
        raise :class:`DefinitionErrors` listing every problem."""
        assets, checks, policies, automations = _split(definitions)
        schedules, sensors, duplicates = split_automation(_unique(automations))
        by_name, errors = _index(assets)
        dag = DAG({name: item.upstream for name, item in by_name.items()}, distinct=True)  # upstream: no repeats
        unknown: set[str] = set()
        if len(dag) > len(by_name):  # some upstreams are no asset: the graph joins assets only
            unknown = set(dag.nodes).difference(by_name)
            dag = DAG({name: tuple(up for up in item.upstream if up not in unknown)
                       for name, item in by_name.items()}, distinct=True)
        errors += _edge_problems(by_name, unknown)
        cycle = dag.find_cycle()
        if cycle:
            first = by_name[cycle[0]]
            errors.append(CycleError(
                "is part of a cycle: " + " -> ".join(cycle) + "; remove one of these upstream edges",
                asset=first.name, location=first.location))
        checks, policies = _unique(checks), _unique(policies)
        errors += check_problems([*checks, *policies], by_name)
        errors += duplicates + condition_problems(by_name.values())
        if not cycle:  # a selection is resolved in dependency order
            errors += selection_problems([*schedules.values(), *sensors.values()], cls(by_name, dag))
        if errors:
            raise DefinitionErrors(errors)
        return cls(by_name, dag, checks, policies, schedules, sensors)

    def __getitem__(self, name: str) -> Asset:
        return self._assets[name]

    def __contains__(self, name: object) -> bool:
        return name in self._assets

    def __iter__(self) -> Iterator[Asset]:
        if self._ordered is None:  # the graph never changes: its assets in order are listed once
            self._ordered = [self._assets[name] for name in self.order()]
        return iter(self._ordered)

    def __len__(self) -> int:
        return len(self._assets)

    @property
    def by_name(self) -> Mapping[str, Asset]:
        """Every asset by name (read it, never change it: the graph was checked with these)."""
        return self._assets

    @property
    def names(self) -> list[str]:
        return list(self._assets)

    def order(self) -> list[str]:
        """Asset names, each after all of its upstreams."""
        return self.dag.order()

    def upstream(self, name: str) -> tuple[str, ...]:
        return self.dag.upstream(name)

    def downstream(self, name: str) -> tuple[str, ...]:
        return self.dag.downstream(name)


def _unique(items: Iterable[T]) -> list[T]:
    seen: set[int] = set()
    result = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            result.append(item)
    return result


def _split(definitions: Iterable[Asset | Check | Freshness | Automation],
           ) -> tuple[list[Asset], list[Check], list[Freshness], list[Automation]]:
    """The definitions by kind, in the order given (read once: ``definitions`` may be an iterator)."""
    assets: list[Asset] = []
    checks: list[Check] = []
    policies: list[Freshness] = []
    automations: list[Automation] = []
    for item in definitions:
        if type(item) is Asset:  # by far the most: decided without the isinstance tests below
            assets.append(item)
            continue
        if isinstance(item, Asset):
            assets.append(item)
        if isinstance(item, Check):
            checks.append(item)
        if isinstance(item, Freshness):
            policies.append(item)
        if isinstance(item, (Schedule, FileSensor, Sensor)):
            automations.append(item)
    return assets, checks, policies, automations


def _index(assets: Iterable[Asset]) -> tuple[dict[str, Asset], list[DefinitionError]]:
    """The assets by name, and their problems: each asset's own, and a second asset of a name as a duplicate
    (an asset given more than once counts once)."""
    by_name: dict[str, Asset] = {}
    errors: list[DefinitionError] = []
    duplicates: set[int] = set()  # id() of each asset reported as a duplicate
    for item in assets:
        first = by_name.get(item.name)
        if first is None:
            by_name[item.name] = item
            errors += item.problems
        elif first is not item and id(item) not in duplicates:
            duplicates.add(id(item))
            errors += item.problems
            errors.append(_duplicate(item, first))
    return by_name, errors


def _edge_problems(by_name: dict[str, Asset], unknown: set[str]) -> list[DefinitionError]:
    """Each asset's upstreams that are no asset (``unknown``), and partitions that cannot map across an edge."""
    partitioned = {name for name, item in by_name.items() if item.partitions is not None}
    if not partitioned and not unknown:
        return []
    errors: list[DefinitionError] = []
    for item in by_name.values():
        if not unknown.isdisjoint(item.upstream):
            errors.extend(_unknown_upstreams(item, by_name))
        if item.partitions is not None or not partitioned.isdisjoint(item.upstream):
            errors.extend(_mapping_problems(item, by_name))
            errors.extend(_path_problems(item))
    return errors


def _duplicate(item: Asset, first: Asset) -> DefinitionError:
    return DuplicateAssetError(
        f"is defined twice: here and at {first.location}; rename one of them (name=...)",
        asset=item.name, location=item.location)


def _mapping_problems(item: Asset, by_name: dict[str, Asset]) -> list[DefinitionError]:
    """How an asset's partitions cannot map onto an upstream's (two unrelated static partitionings, a window
    without time partitions)."""
    problems = []
    for up in item.upstream:
        upstream = by_name.get(up)
        if upstream is None or (item.partitions is None and upstream.partitions is None):
            continue
        problem = check_mapping(item.partitions, upstream.partitions, item.windows.get(up))
        if problem:
            problems.append(DefinitionError(f"reads '{up}': {problem}", asset=item.name,
                                            location=item.upstream_locations.get(up, item.location)))
    return problems


def _path_problems(item: Asset) -> list[DefinitionError]:
    """A partitioned source's path must name its partitions' placeholders, and only those."""
    if not item.is_source or item.partitions is None:
        return []
    allowed = item.partitions.placeholder_names
    try:
        named = {field.partition(".")[0].partition("[")[0] for _, field, _, _ in Formatter().parse(item.path or "")
                 if field is not None}
    except ValueError as error:  # an unmatched brace
        return [DefinitionError(f"has the path '{item.path}', which is not a valid template ({error})",
                                asset=item.name, location=item.location)]
    shown = ", ".join("{" + name + "}" for name in allowed)
    if not named:
        return [DefinitionError(f"has partitions, but its path '{item.path}' names none of them, so every partition "
                                f"would read the same files; put {shown} in the path", asset=item.name,
                                location=item.location)]
    unknown = sorted(named - set(allowed))
    if unknown:
        return [DefinitionError(f"names {{{unknown[0]}}} in its path '{item.path}', which its partitions do not "
                                f"fill{did_you_mean(unknown[0], allowed)}; they fill {shown}", asset=item.name,
                                location=item.location)]
    return []


def _unknown_upstreams(item: Asset, by_name: dict[str, Asset]) -> Sequence[DefinitionError]:
    if all(upstream in by_name for upstream in item.upstream):
        return ()
    errors = []
    params = {upstream: param for param, upstream in item.inputs.items()}
    for upstream in item.upstream:
        if upstream in by_name:
            continue
        param = params.get(upstream)
        if item.kind == "sql":
            via = "its FROM clause"
        elif param is not None and param == upstream:
            via = f"parameter '{param}'"
        else:
            via = f"inputs['{param}']" if param is not None else "deps"
        errors.append(UnknownUpstreamError(
            f"reads '{upstream}' (through {via}), which is not an asset{did_you_mean(upstream, by_name)}",
            asset=item.name, location=item.upstream_locations.get(upstream, item.location)))
    return errors
