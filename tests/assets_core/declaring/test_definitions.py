"""Definition errors: each one found, all reported at once, each with its file, line and a way to fix it."""

from __future__ import annotations

import pytest

from assets_core.declaring.definitions import MAX_NAME_LENGTH, Asset, AssetOptions, asset, source_asset
from assets_core.declaring.loading import load_assets, read_config
from assets_core.errors import (
    CycleError,
    DefinitionErrors,
    DuplicateAssetError,
    InvalidNameError,
    LoadError,
    ProjectError,
    UnknownUpstreamError,
)
from assets_core.planning.graph import AssetGraph


def _errors(folder, text: str) -> list:
    folder.write("defs.py", text)
    with pytest.raises(DefinitionErrors) as caught:
        folder.load()
    return caught.value.errors


def test_every_problem_is_reported_at_once_with_file_and_line(folder):
    errors = _errors(folder, """
        from assets_core.declaring.definitions import asset

        @asset
        def orders():
            return [1]

        @asset
        def revenue(order):
            return order

        @asset(name="orders")
        def orders_again():
            return [2]

        @asset
        def a(b):
            return b

        @asset
        def b(a):
            return a
    """)
    kinds = sorted(type(e).__name__ for e in errors)
    assert kinds == ["CycleError", "DuplicateAssetError", "UnknownUpstreamError"]
    unknown = next(e for e in errors if isinstance(e, UnknownUpstreamError))
    assert unknown.location.line == 8 and unknown.location.file.endswith("defs.py")
    assert "reads 'order'" in str(unknown) and "did you mean 'orders'?" in str(unknown)
    assert "defs.py:8" in str(unknown)
    duplicate = next(e for e in errors if isinstance(e, DuplicateAssetError))
    assert duplicate.location.line == 12 and "defs.py:4" in str(duplicate)
    cycle = next(e for e in errors if isinstance(e, CycleError))
    assert "a -> b -> a" in str(cycle) or "b -> a -> b" in str(cycle)


def test_cycle_message_names_the_whole_path(folder):
    errors = _errors(folder, """
        from assets_core.declaring.definitions import asset

        @asset
        def x(z): return z
        @asset
        def y(x): return x
        @asset
        def z(y): return y
        @asset
        def outside(x): return x
    """)
    assert len(errors) == 1 and isinstance(errors[0], CycleError)
    path = str(errors[0]).split("cycle: ")[1].split(";")[0].split(" -> ")
    assert path[0] == path[-1] and sorted(path[:-1]) == ["x", "y", "z"]
    assert "outside" not in path


def test_parameters_that_name_nothing(folder):
    errors = _errors(folder, """
        from assets_core.declaring.definitions import asset

        @asset
        def base(): return 1

        @asset(inputs={"missing_param": "base"})
        def mapped(value): return value

        @asset
        def variadic(*rows): return rows
    """)
    messages = [str(e) for e in errors]
    assert any("inputs['missing_param']" in m and "not a parameter of mapped()" in m and "its parameters: value" in m
               for m in messages)
    assert any("'*rows'" in m and "names no upstream" in m for m in messages)
    assert any("reads 'value'" in m for m in messages)  # the unmapped parameter names no asset either


def test_unknown_deps_and_inputs_say_through_what(folder):
    errors = _errors(folder, """
        from assets_core.declaring.definitions import asset

        @asset
        def customers(): return 1

        @asset(inputs={"people": "custmers"}, deps=["customer"])
        def report(people): return people
    """)
    by_upstream = {str(e).split("reads '")[1].split("'")[0]: str(e) for e in errors}
    assert "through deps" in by_upstream["customer"] and "did you mean 'customers'" in by_upstream["customer"]
    assert "through inputs['people']" in by_upstream["custmers"]
    assert "did you mean 'customers'" in by_upstream["custmers"]


def test_an_input_mapped_to_something_that_names_no_asset_is_a_definition_error(folder):
    """inputs={"people": None} raised a TypeError from deep in the graph (a traceback); now it is reported with
    every other definition problem, and the asset's other parameters still resolve."""
    errors = _errors(folder, """
        from assets_core.declaring.definitions import asset

        @asset
        def customers(): return 1

        @asset(inputs={"people": None, "count": 3})
        def report(people, count, customers): return people
    """)
    messages = sorted(str(e) for e in errors)
    assert len(messages) == 2
    assert "maps inputs['count'] to 3, which names no asset" in messages[0]
    assert "maps inputs['people'] to None, which names no asset" in messages[1]


@pytest.mark.parametrize("name", ["bad name", "../escape", "a..b", "1st", ".hidden", "a/b", "orders\n"])
def test_invalid_names_are_definition_errors(name):
    item = source_asset(name, "x.csv")
    with pytest.raises(DefinitionErrors) as caught:
        AssetGraph.build([item])
    assert isinstance(caught.value.errors[0], InvalidNameError)
    assert "not a valid asset name" in str(caught.value)


def test_a_name_too_long_for_its_stored_files_is_refused_at_load(folder):
    longest = "a" * MAX_NAME_LENGTH
    errors = _errors(folder, f"""
        from assets_core.declaring.definitions import asset

        @asset(name="{"a" * 300}")
        def too_long(): return 1
    """)
    assert "is 300 characters long, more than the 214" in str(errors[0]) and "choose a shorter name" in str(errors[0])
    assert len(str(errors[0])) < 300  # the message shows the start of the name, not all of it
    folder.write("defs.py", f"import polars as pl\nfrom assets_core.declaring.definitions import asset\n\n"
                            f"@asset(name='{longest}')\ndef longest():\n    return pl.DataFrame({{'x': [1]}})\n")
    project = folder.load()
    assert project.materialize().failed == []  # the longest name allowed is stored
    stored = [path.name for path in (folder.root / ".assets" / "storage").iterdir() if path.name.startswith(longest)]
    assert len(stored) == 1 and len(stored[0]) == 255 and stored[0].endswith(".parquet")


def test_an_asset_named_context_is_refused_at_load(folder):
    errors = _errors(folder, """
        from assets_core.declaring.definitions import asset

        @asset
        def context(): return 1

        @asset
        def report(context): return context
    """)
    assert len(errors) == 1 and "cannot be named 'context'" in str(errors[0]) and "defs.py:4" in str(errors[0])


def test_dotted_names_are_valid_and_group_by_prefix():
    item = source_asset("finance.orders", "orders.csv")
    assert AssetGraph.build([item])["finance.orders"].group == "finance"


def test_bad_options_are_reported():
    @asset(options=AssetOptions(io="pickle"))
    def thing():
        return 1

    with pytest.raises(DefinitionErrors, match="options.io='pickle'"):
        AssetGraph.build([thing])


def test_a_retry_policy_of_the_wrong_shape_is_a_definition_error_not_a_crash_of_the_run(folder):
    """retry_on=("ValueError",) used to pass, then crash the run at the first failure (isinstance() with a
    string) with a traceback; a string max_attempts crashed the loading with a bare TypeError."""
    errors = _errors(folder, """
        from assets_core import asset, AssetOptions, RetryPolicy

        @asset(options=AssetOptions(retry=RetryPolicy(max_attempts=3, retry_on=("ValueError",))))
        def named():
            raise ValueError("no")

        @asset(options=AssetOptions(retry=RetryPolicy(max_attempts="3", max_delay=-5, jitter=-1)))
        def typed():
            return 1

        @asset(options=AssetOptions(retry=RetryPolicy(max_attempts=2.5, delay=True, retry_on=ValueError)))
        def fractional():
            return 1
        """)
    said: dict[str, str] = {}
    for error in errors:  # one error per problem
        said[error.asset] = said.get(error.asset, "") + str(error) + "\n"
    assert set(said) == {"named", "typed", "fractional"}
    assert "retry_on holds 'ValueError', which is not an exception class; give the class itself (ValueError)" \
        in said["named"] and "defs.py:4" in said["named"]
    for part in ("max_attempts must be a whole number of at least 1, not '3'", "max_delay must be a finite number "
                 "of at least 0, not -5", "jitter must be a finite number of at least 0, not -1"):
        assert part in said["typed"]
    assert "max_attempts must be a whole number of at least 1, not 2.5" in said["fractional"]
    assert "delay must be a finite number of at least 0, not True" in said["fractional"]
    assert "retry_on" not in said["fractional"]  # a single class is as good as a tuple of one


def test_a_retry_policy_of_endless_numbers_is_a_definition_error(folder):
    """delay=float("inf") passed (as [tool.assets.retry] refuses it), then ended the run at the asset's first
    failure with a traceback (OverflowError from time.sleep); a NaN backoff passed too."""
    errors = _errors(folder, """
        from assets_core import asset, AssetOptions, RetryPolicy

        @asset(options=AssetOptions(retry=RetryPolicy(max_attempts=2, delay=float("inf"), backoff=float("nan"))))
        def endless():
            raise ValueError("no")
        """)
    said = "\n".join(str(error) for error in errors)
    assert "delay must be a finite number of at least 0, not inf" in said
    assert "backoff must be a finite number of at least 1, not nan" in said


def test_same_asset_reachable_twice_is_not_a_duplicate(folder):
    folder.write("defs.py", """
        from assets_core.declaring.definitions import asset

        @asset
        def one(): return 1

        ALL = [one]
        BY_NAME = {"one": one}
    """)
    assert [a.name for a in folder.load().graph] == ["one"]


def test_syntax_error_points_at_the_line(folder):
    folder.write("defs.py", "from assets_core.declaring.definitions import asset\n\ndef broken(:\n    pass\n")
    with pytest.raises(LoadError) as caught:
        folder.load()
    assert caught.value.location.line == 3 and "syntax error" in str(caught.value)


def test_exception_while_loading_points_at_the_users_line(folder):
    folder.write("defs.py", "import os\n\nVALUE = 1 / 0\n")
    with pytest.raises(LoadError) as caught:
        folder.load()
    assert caught.value.location.line == 3
    assert "ZeroDivisionError" in str(caught.value)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_package_modules_are_scanned(folder):
    folder.write("pipeline/__init__.py", "")
    folder.write("pipeline/raw.py", """
        from assets_core.declaring.definitions import asset
        @asset
        def raw(): return [1]
    """)
    folder.write("pipeline/marts.py", """
        from assets_core.declaring.definitions import asset
        @asset
        def mart(raw): return raw
    """)
    names = sorted(a.name for a in load_assets(folder.root, module="pipeline"))
    assert names == ["mart", "raw"]


def test_unknown_module_suggests_a_close_one(folder):
    folder.write("pipeline.py", "")
    with pytest.raises(ProjectError, match="did you mean 'pipeline'"):
        load_assets(folder.root, module="pipelin")


def test_config_is_read_from_pyproject(folder):
    folder.write("pyproject.toml", '[tool.assets]\nmodule = "defs"\nworkers = 3\nsql_folders = "models"\n'
                                   'alerts = {webhook = "http://127.0.0.1:9/hook"}\n')
    config = read_config(folder.root)
    assert (config.module, config.workers, config.sql_folders) == ("defs", 3, ("models",))
    assert config.alerts is not None and config.alerts.webhook == ("http://127.0.0.1:9/hook",)


def test_broken_pyproject_is_a_clear_error(folder):
    folder.write("pyproject.toml", "[tool.assets\nmodule=")
    with pytest.raises(ProjectError, match="must be valid TOML"):
        read_config(folder.root)


def test_asset_is_a_value_and_callable():
    @asset(description="Doubles.", tags={"tier": "gold"}, owners=["ana"])
    def doubled(numbers):
        """Ignored: the description wins."""
        return [n * 2 for n in numbers]

    assert isinstance(doubled, Asset)
    assert doubled([1, 2]) == [2, 4]
    assert (doubled.description, doubled.tags, doubled.owners) == ("Doubles.", ("tier=gold",), ("ana",))
    with pytest.raises(TypeError, match="cannot be called"):
        source_asset("raw", "raw.csv")()
