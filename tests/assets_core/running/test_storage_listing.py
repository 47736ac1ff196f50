"""Storage.existing from one listing of the folder finds what a stat of each stored value finds."""

from __future__ import annotations

import os

from assets_core.running.storage import LISTING_FROM, Storage


def test_the_listing_finds_what_a_stat_of_each_finds(tmp_path):
    folder = tmp_path / "storage"
    folder.mkdir()
    (folder / "a@1.json").write_text("1")
    (folder / "plain.json").write_text("1")  # no separator: never a stored value
    (folder / "d@4.json").mkdir()  # a folder named like a value is no value
    os.symlink(folder / "a@1.json", folder / "b@2.json")  # a link to a file is one
    os.symlink(folder / "gone@0.json", folder / "c@3.json")  # a dangling link is not
    os.symlink(folder / "d@4.json", folder / "e@5.json")  # nor a link to a folder
    storage = Storage(folder)
    asked = ["a@1.json", "b@2.json", "c@3.json", "d@4.json", "e@5.json", "plain.json", "../a@1.json", "",
             ".", "..", "a@1.json/", "f@6.json"]
    many = asked + [f"x@{i}.json" for i in range(LISTING_FROM)]
    expected = {"a@1.json", "b@2.json"}
    assert {location for location in many if storage.exists(location)} == expected
    assert storage.existing(many) == storage.existing(iter(many)) == storage.existing(asked) == expected
    identity = storage.identity()
    assert identity is not None
    listed = (identity, [entry.name for entry in os.scandir(folder) if entry.is_file()])  # as read ahead
    assert storage.existing(asked, listed) == storage.existing(many, listed) == expected


def test_a_listing_of_its_folder_is_used_as_it_is_and_one_of_another_folder_never(tmp_path):
    folder, elsewhere = tmp_path / "storage", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "a@1.json").write_text("1")
    storage = Storage(folder)
    identity, other = storage.identity(), Storage(elsewhere).identity()
    assert identity is not None and other is not None and identity != other
    assert Storage(os.path.relpath(folder)).identity() == identity and Storage(tmp_path / "gone").identity() is None
    asked = ["a@1.json", "b@2.json", "plain.json"]
    # A listing taken with the state says what the folder held then: b is stored, a is gone since.
    assert storage.existing(asked, (identity, ["b@2.json", "plain.json"])) == {"b@2.json"}
    assert storage.existing(asked, (other, ["b@2.json"])) == {"a@1.json"}  # another folder's: listed itself


def test_a_path_through_a_link_and_up_again_is_the_folder_the_system_finds(tmp_path):
    """``link/..`` is the parent of the link's target, not the folder the path's words name without the link."""
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "real" / "values").mkdir()
    (tmp_path / "real" / "values" / "a@1.json").write_text("1")
    (tmp_path / "values").mkdir()  # what the words "x/link/../values" name, were the link a plain folder
    (tmp_path / "x").mkdir()
    os.symlink(tmp_path / "real" / "deep", tmp_path / "x" / "link")
    storage = Storage(tmp_path / "x" / "link" / ".." / "values")
    assert storage.exists("a@1.json") and storage.identity() == Storage(tmp_path / "real" / "values").identity()
    assert storage.identity() != Storage(tmp_path / "values").identity()


def test_no_folder_holds_nothing(tmp_path):
    storage = Storage(tmp_path / "never made")
    assert storage.existing([f"x@{i}.json" for i in range(LISTING_FROM)]) == set()
