"""Finding a project's assets: load a module, a file, or what ``[tool.assets]`` in pyproject.toml names.

Discovery is explicit: the definitions are the :class:`Asset`, :class:`Check`, :class:`Freshness`,
:class:`AlertHook`, :class:`Schedule`, :class:`FileSensor` and :class:`Sensor` values
(or lists, tuples and dicts of them) found at the top level of the loaded module, and of every submodule when
it is a package.
"""

from __future__ import annotations

import importlib
import importlib.util
import linecache
import os
import pkgutil
import sys
import traceback
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assets_core.automation.declarations import FileSensor, Schedule, Sensor
from assets_core.declaring.checks import Check, Freshness
from assets_core.declaring.config import ProjectConfig, read_config  # noqa: F401 (read_config used to live here)
from assets_core.declaring.definitions import Asset, source_asset
from assets_core.declaring.sources import TABLE_SUFFIXES
from assets_core.errors import LoadError, Location, ProjectError, did_you_mean
from assets_core.imports import late_import
from assets_core.running.alerts import AlertHook

_OWN_PACKAGES = ("assets_core", "catalog", "tui")
DEFINITION_TYPES = (Asset, Check, Freshness, AlertHook, Schedule, FileSensor, Sensor)  # what a project declares
Definition = Asset | Check | Freshness | AlertHook | Schedule | FileSensor | Sensor


@dataclass(frozen=True)
class DefinitionsSource:
    """How a worker process loads the project's definitions: its folder and module or file (the folder's
    ``[tool.assets]`` names SQL and source folders too). ``token`` changes at every load of the coordinating
    process, so that a long-lived worker loads the files again for each run."""

    root: str
    module: str | None
    file: str | None
    token: str


def load_assets(root: str | os.PathLike[str], module: str | None = None, file: str | None = None) -> list[Asset]:
    """Import the project's definitions and collect its assets.

    Exactly one of ``module`` (a dotted name importable from ``root``) or ``file`` (a path, relative to
    ``root`` unless absolute) is given.
    """
    root = Path(root).resolve()
    _forget_project_modules(root)
    linecache.clearcache()  # code versions read sources through linecache: see the files as they are now
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    loaded = _import_file(root, file) if file is not None else _import_module(root, module or "")
    return list(collect_assets(loaded))


def load_project_assets(config: ProjectConfig, module: str | None = None, file: str | None = None) -> list[Asset]:
    """Every asset of a project: from its module or file, its SQL folders and its source folders."""
    assets: list[Asset] = []
    if module is not None or file is not None:
        assets += load_assets(config.root, module=module, file=file)
    for folder in config.sql_folders:
        with late_import():  # sqlglot is loaded only by projects with SQL assets
            from assets_core.declaring.sql import sql_folder

        assets += sql_folder(_folder(config.root, folder, "sql_folders"), dialect=config.dialect)
    for folder in config.source_folders:
        assets += source_folder(config.root, _folder(config.root, folder, "source_folders"))
    return assets


def source_folder(root: Path, folder: Path) -> list[Asset]:
    """One source asset per CSV or Parquet file in ``folder``, named after the file."""
    return [replace(source_asset(path.stem, os.path.relpath(path, root)), location=Location(str(path)))
            for path in sorted(folder.iterdir()) if path.suffix.lower() in TABLE_SUFFIXES and path.is_file()]


def _folder(root: Path, name: str, key: str) -> Path:
    path = (root / name).resolve()
    if not path.is_dir():
        raise ProjectError(f"[tool.assets] {key} names '{name}', but {path} is not a folder; fix the name")
    return path


def collect_assets(module: types.ModuleType) -> Iterator[Asset]:
    """The assets at the top level of ``module`` and, for a package, of all its submodules."""
    yield from _assets_in(vars(module).values())
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=module.__name__ + "."):
        yield from _assets_in(vars(_guarded_import(info.name, Path(module.__file__ or ".").parent)).values())


def _assets_in(values: Iterable[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, DEFINITION_TYPES):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (v for v in value if isinstance(v, DEFINITION_TYPES))
        elif isinstance(value, dict):
            yield from (v for v in value.values() if isinstance(v, DEFINITION_TYPES))


def _import_module(root: Path, name: str) -> types.ModuleType:
    _forget_shadowed(root, name.split(".")[0])
    if importlib.util.find_spec(name.split(".")[0]) is None:
        candidates = [p.stem for p in root.glob("*.py")] + [p.name for p in root.iterdir() if (p / "__init__.py").exists()]
        raise ProjectError(
            f"no module named '{name}' in {root}{did_you_mean(name, candidates)}; "
            "pass -m with a module importable from the project folder, or -f with a file")
    return _guarded_import(name, root)


def _import_file(root: Path, file: str) -> types.ModuleType:
    path = (root / file).resolve()
    if not path.is_file():
        candidates = [str(p.relative_to(root)) for p in root.glob("*.py")]
        raise ProjectError(f"no file {path}{did_you_mean(file, candidates)}; pass -f with a Python file")
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    name = "_assets_defs_" + "_".join(path.relative_to(root).with_suffix("").parts) if path.is_relative_to(root) \
        else "_assets_defs_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(name, None)
        raise _load_error(error, root) from error
    return module


def _guarded_import(name: str, root: Path) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as error:
        raise _load_error(error, root) from error


def _load_error(error: BaseException, root: Path) -> LoadError:
    """A message pointing at the user's own line that failed while the definitions were imported."""
    if isinstance(error, SyntaxError):
        location = Location(error.filename or "?", error.lineno or 0, error.offset or 0)
        return LoadError(f"has a syntax error: {error.msg}", location=location)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_project_file(f.filename, root)]
    found = Location(frames[-1].filename, frames[-1].lineno or 0) if frames else None
    return LoadError(f"failed while loading the definitions: {type(error).__name__}: {error}", location=found)


def _is_project_file(path: str, root: Path) -> bool:
    real = os.path.realpath(path)
    return real.startswith(str(root) + os.sep) and "site-packages" not in real


def _forget_shadowed(root: Path, top: str) -> None:
    """Forget a module of the same name imported from elsewhere (another project loaded in this process)."""
    module = sys.modules.get(top)
    path = getattr(module, "__file__", None) if module is not None else None
    if path and not _is_project_file(path, root) and (root / top).exists() | (root / f"{top}.py").exists():
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]


def _forget_project_modules(root: Path) -> None:
    """Drop already imported project modules so that a reload sees the files as they are now."""
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and name.split(".")[0] not in _OWN_PACKAGES and _is_project_file(path, root):
            del sys.modules[name]
