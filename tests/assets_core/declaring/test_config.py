"""``[tool.assets]`` is checked whole against its declared schema: every wrong key is reported at once, with the
file, the key and what it must be, and nothing is silently misread."""

from __future__ import annotations

import pytest

from assets_core.declaring.config import read_config
from assets_core.errors import ProjectError


def _problems(folder, text: str) -> str:
    folder.write("pyproject.toml", text)
    with pytest.raises(ProjectError) as caught:
        read_config(folder.root)
    return str(caught.value)


@pytest.mark.parametrize(("line", "expected"), [
    ("module = 5", "[tool.assets] module must be a string, not 5"),
    ("home = 5", "[tool.assets] home must be a string, not 5"),
    ("catalog = 5", "[tool.assets] catalog must be a string, not 5"),
    ('file = ["defs.py"]', '[tool.assets] file must be a string, not ["defs.py"]'),
    ('workers = "four"', '[tool.assets] workers must be a whole number of at least 1, not "four"'),
    ("workers = -3", "[tool.assets] workers must be a whole number of at least 1, not -3"),
    ('durable = "false"', '[tool.assets] durable must be true or false, not "false"'),
    ("sql_folders = 5", "[tool.assets] sql_folders must be a name or a list of names, not 5"),
    ("wokers = 3", "[tool.assets] has an unknown key 'wokers'; did you mean 'workers'?"),
    ("retry = 3", "[tool.assets.retry] must be a table, not 3"),
    ("[tool.assets.retry]\nmax_attempts = 2.9",
     "[tool.assets.retry] max_attempts must be a whole number of at least 1, not 2.9"),
    ("[tool.assets.retry]\ndelay = -1", "[tool.assets.retry] delay must be a finite number of at least 0, not -1"),
    ("[tool.assets.retry]\ndelay = inf", "[tool.assets.retry] delay must be a finite number of at least 0, not Infinity"),
    ("[tool.assets.retry]\nmax_delay = nan", "[tool.assets.retry] max_delay must be a finite number"),
    ("[tool.assets.retry]\nretry_on = \"NoSuchError\"", "retry_on names 'NoSuchError', which is no exception class"),
    ("[tool.assets.alerts]\non = 5", "[tool.assets.alerts] on must be one or a list of: failure, check, anomaly, freshness, sensor, not 5"),
    ('[tool.assets.alerts]\non = ["failures"]', "[tool.assets.alerts] on must be one or a list of"),
])
def test_a_wrong_key_names_the_file_the_key_and_what_it_must_be(folder, line, expected):
    message = _problems(folder, "[tool.assets]\n" + line + "\n")
    assert expected in message and str(folder.root / "pyproject.toml") in message


def test_every_problem_is_reported_at_once(folder):
    message = _problems(folder, '[tool.assets]\nmodule = 5\nworkers = "four"\n[tool.assets.alerts]\non = 5\n')
    assert "has 3 problems" in message
    assert all(key in message for key in ("module must", "workers must", "on must"))


def test_tool_and_tool_assets_must_be_tables(folder):
    assert "[tool] must be a table, not 5" in _problems(folder, "tool = 5\n")
    assert "[tool.assets] must be a table, not 5" in _problems(folder, "[tool]\nassets = 5\n")


def test_right_values_are_read_as_meant(folder):
    folder.write("pyproject.toml", '[tool.assets]\ndurable = false\nworkers = 2\n'
                                   '[tool.assets.retry]\nmax_attempts = 3\ndelay = 1\nretry_on = "ConnectionError"\n'
                                   '[tool.assets.alerts]\nwebhook = "http://127.0.0.1:9/x"\non = "failure"\n')
    config = read_config(folder.root)
    assert (config.durable, config.workers) == (False, 2)
    assert config.retry is not None and config.retry.retry_on == (ConnectionError,)  # one name, not letters
    assert (config.retry.max_attempts, config.retry.delay) == (3, 1.0)
    assert config.alerts is not None and config.alerts.on == ("failure",)
