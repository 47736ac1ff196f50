"""Opening a workspace: a project's folder, definitions, home, storage and catalog, as every front end does."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assets_core.application.catalogs import WorkspaceCatalog, open_ahead, open_catalog, sqlite_path, sqlite_url
from assets_core.application.project import Project
from assets_core.collector import collector_paused
from assets_core.declaring.config import ProjectConfig, read_config
from assets_core.declaring.loading import Definition, DefinitionsSource, load_project_assets
from assets_core.errors import ProjectError, StorageError
from assets_core.imports import late_import
from assets_core.planning.definition_rows import DefinitionRows
from assets_core.planning.state import now
from assets_core.running.alerts import AlertHook, hooks_from_config
from assets_core.running.openlineage import openlineage_settings
from assets_core.running.recovery import dead_runs
from assets_core.running.storage import Storage, ValueStorage


@dataclass(frozen=True)
class Options:
    """The options every subcommand shares."""

    project: str | None = None
    module: str | None = None
    file: str | None = None
    home: str | None = None
    catalog: str | None = None
    storage: str | None = None


@dataclass
class Workspace:
    """A loaded project with its SQL catalog."""

    project: Project
    catalog: WorkspaceCatalog
    config: ProjectConfig
    home: Path

    def save_definitions(self) -> None:
        """Record the assets as loaded now, with their code versions and upstreams."""
        graph, versions = self.project.graph, self.project.code_versions
        definitions = DefinitionRows([  # in the order of DefinitionView's fields
            (item.name, item.kind, item.group, item.description, versions[item.name], graph.upstream(item.name),
             item.tags, item.owners, item.location.file if item.location else "",
             item.location.line if item.location else 0)
            for item in graph])
        self.catalog.save_definitions(definitions)  # writes only when they changed


def open_workspace(options: Options, definitions: Sequence[Definition] | None = None, *,
                   read_only: bool = False, recover: bool = True, reads_state: bool = False) -> Workspace:
    """Load the project the options point at (or take ``definitions`` as its assets), open its catalog and
    storage, and recover dead runs (unless ``read_only``: a read-only look changes nothing on disk; or not
    ``recover``: for a caller that reads no run nor stored value, such as a list of the definitions); raise
    :class:`ProjectError` when there is nothing to load. A caller that ``reads_state`` of every asset next
    (status, plan, materialize, the browser) has its catalog opened first where the front end wired a way to
    (the ``assets`` command does, for a SQLite file), to read the state while the definitions load (see
    :func:`open_ahead`)."""
    root, config = locate(options)
    early = _catalog_ahead(options, root, config) if reads_state and definitions is None else None
    try:
        return _open(options, root, config, definitions, read_only, recover, early)
    except BaseException:
        if early is not None:  # its helper is not left running
            early[1].close()
        raise


def _open(options: Options, root: Path, config: ProjectConfig, definitions: Sequence[Definition] | None,
          read_only: bool, recover: bool, early: tuple[tuple[str, str], WorkspaceCatalog] | None) -> Workspace:
    source = None
    if definitions is None:
        definitions, source = _load_definitions(root, config, options)
    home = resolve_home(root, options.home, config)
    url = catalog_url(options, config, home)
    missing = sqlite_path(url)
    if read_only and missing is not None and not missing.exists():
        raise ProjectError(f"nothing is recorded yet: there is no catalog at {missing}, and a read-only look "
                           "creates nothing; run 'assets materialize' first, or open it without --read-only")
    if early is not None and early[0] != (url, os.getcwd()):  # the definitions' module moved the catalog
        early[1].close()
        early = None
    catalog = early[1] if early is not None else open_catalog(url)
    storage = storage_for(options, config, home)
    assets = [*definitions, *_alert_hooks(config)]
    project = Project(assets, root, storage, catalog, home)
    project.source = source
    project.openlineage = openlineage_settings(config.openlineage, os.environ, root)
    project.read_only = read_only
    if recover and not read_only:
        # Runs whose process died become "interrupted" before anything reads them. Killed writers' temporary
        # files are swept by what next writes or deletes values (Project.claim_storage), not by every look:
        # sweeping lists the storage folder, 0.06 s of a status of 100,000 assets.
        project.recover(sweep=False)
    return Workspace(project, catalog, config, home)


def _catalog_ahead(options: Options, root: Path, config: ProjectConfig,
                   ) -> tuple[tuple[str, str], WorkspaceCatalog] | None:
    """The project's catalog opened before the definitions load, reading every asset's state meanwhile (see
    :func:`open_ahead`; None where it is not), with the URL and working folder it was found from: the
    definitions' module could change either (a catalog URL may be a relative path)."""
    home = resolve_home(root, options.home, config)
    url = catalog_url(options, config, home)
    catalog = open_ahead(url, _storage_folder(options, config, home))
    return None if catalog is None else ((url, os.getcwd()), catalog)


def _storage_folder(options: Options, config: ProjectConfig, home: Path) -> str | None:
    """The folder of the project's storage, if it is one: listed ahead once the state is read (see
    :data:`~assets_core.planning.evidence.Listing`; a storage moved by the definitions' module uses no listing
    of another folder)."""
    try:
        storage = storage_for(options, config, home)
    except StorageError:  # reported when the storage is opened, after any problem of the definitions
        return None
    return storage.folder if isinstance(storage, Storage) else None


def _alert_hooks(config: ProjectConfig) -> list[AlertHook]:
    alerts = config.alerts
    return [] if alerts is None else hooks_from_config({"webhook": list(alerts.webhook), "on": list(alerts.on)})


def locate(options: Options) -> tuple[Path, ProjectConfig]:
    """The project folder the options point at, and its ``[tool.assets]`` settings."""
    root = Path(options.project or ".").resolve()
    if not root.is_dir():
        raise ProjectError(f"the project folder {root} does not exist; pass --project with an existing folder")
    return root, read_config(root)


def _load_definitions(root: Path, config: ProjectConfig, options: Options) -> tuple[list[Definition], DefinitionsSource]:
    """The project's definitions, and how a worker process loads them again."""
    module, file = options.module, options.file
    if module is None and file is None:
        module, file = config.module, config.file
    if module is None and file is None and not config.has_definitions:
        raise ProjectError(
            f"no definitions to load in {root}: pass -m MODULE or -f FILE, or add to pyproject.toml:\n"
            "  [tool.assets]\n  module = \"defs\"        # and/or: sql_folders = [\"models\"]")
    with collector_paused():  # thousands of functions and assets made at once, none of them garbage
        loaded: list[Definition] = list(load_project_assets(config, module=module, file=file))
    return loaded, DefinitionsSource(str(root), module, file, uuid.uuid4().hex)


def open_catalog_only(options: Options) -> WorkspaceCatalog:
    """The catalog alone, for commands that need no definitions (runs, logs)."""
    root, config = locate(options)
    catalog = open_catalog(catalog_url(options, config, resolve_home(root, options.home, config)))
    for run in dead_runs(catalog.running_runs(), now()):
        catalog.end_run(run.run_id, "interrupted")
    return catalog


def open_storage(options: Options) -> ValueStorage:
    """The storage of the project the options point at, without loading its definitions."""
    root, config = locate(options)
    return storage_for(options, config, resolve_home(root, options.home, config))


def storage_for(options: Options, config: ProjectConfig, home: Path) -> ValueStorage:
    """Where stored values live: --storage, then ASSETS_STORAGE, then [tool.assets] storage (a folder, relative
    to the project, or a URL such as s3://bucket/prefix), then the home's storage folder."""
    chosen = options.storage or os.environ.get("ASSETS_STORAGE") or config.storage
    if not chosen:
        return Storage(home / "storage", durable=config.durable)
    with late_import():  # only a project whose values live elsewhere pays for it
        from assets_core.running.object_storage import storage_at

    return storage_at(chosen, durable=config.durable, relative_to=config.root)


def catalog_url(options: Options, config: ProjectConfig, home: Path) -> str:
    """The catalog: --catalog, then ASSETS_CATALOG, then [tool.assets] catalog, then SQLite in the home."""
    return options.catalog or os.environ.get("ASSETS_CATALOG") or config.catalog or sqlite_url(home / "catalog.db")


def resolve_home(root: Path, home: str | None, config: ProjectConfig) -> Path:
    """Where storage and catalog live: --home, then ASSETS_HOME, then [tool.assets] home, then .assets."""
    chosen = home or os.environ.get("ASSETS_HOME") or config.home or ".assets"
    path = Path(chosen)
    return path if path.is_absolute() else (root / path)

