"""Lineage drawn with Graphviz: the view model, the DOT text it becomes, and real SVG and PNG files."""

from __future__ import annotations

import os
import re
import time

import pytest

from tests.tui.cli.test_lineage import run, small  # noqa: F401  # the small SQL project, a fixture
from tui.drawing import HEADER, Cluster, DrawingError, Edge, build_drawing, node, render, to_dot, write_file


def _three() -> list:
    return [node("raw", "source", "source", columns=[("id", ""), ("amount", "")]),
            node("fin.orders", "sql", "stale", "finance", [("id", ""), ("odd", "cannot be placed")], target=True),
            node("report", "python", "failed", "finance", columns=[], note="a python asset: not analysed")]


def test_the_view_model_of_tables_joined_by_columns():
    drawing = build_drawing(_three(), [("raw", "fin.orders"), ("fin.orders", "report"), ("x", "raw")],
                            [("raw", "id", "fin.orders", "id"), ("raw", "amount", "fin.orders", "gone")])
    assert drawing.columns
    assert drawing.clusters == (Cluster("cluster_finance", "finance", ("fin.orders", "report")),)
    assert drawing.edges == (
        Edge("raw", "fin.orders", "id", "id"),
        Edge("raw", "fin.orders", "amount", HEADER),  # a column not drawn: the edge ends at the title
        Edge("fin.orders", "report", HEADER, HEADER, dashed=True),  # no column edge joins them
    )  # and nothing to or from 'x', which is not drawn
    orders = drawing.nodes[1]
    assert (orders.glyph, orders.status, orders.colour, orders.target) == ("~", "stale", "yellow", True)
    assert [(row.column, row.port, row.unknown) for row in orders.rows] == [
        ("id", "id", ""), ("odd", "odd", "cannot be placed")]


def test_boxes_without_columns_and_no_cluster_for_ungrouped_assets():
    drawing = build_drawing([node("a", "python", "fresh"), node("b", "python", "missing")], [("a", "b")])
    assert not drawing.columns and drawing.clusters == ()
    assert drawing.edges == (Edge("a", "b"),)
    assert [(n.glyph, n.status) for n in drawing.nodes] == [("✓", "fresh"), ("○", "missing")]


def test_ports_are_distinct_identifiers():
    rows = node("t", "sql", "fresh", columns=[("a b", ""), ("a_b", ""), ("__asset", ""), ("ünï", "")]).rows
    assert [row.port for row in rows] == ["a_b", "a_b_2", "__asset_2", "_n_"]


def test_dot_text_of_clusters_glyphs_ports_and_column_edges():
    dot = to_dot(build_drawing(_three(), [("raw", "fin.orders"), ("fin.orders", "report")],
                               [("raw", "id", "fin.orders", "id")]))
    lines = [line.strip() for line in dot.splitlines()]
    assert lines[:4] == ["digraph lineage {", "graph [fontname=Helvetica rankdir=LR]",
                         "node [fontname=Helvetica fontsize=11]", 'edge [arrowsize=0.7 color="#555555"]']
    assert lines[4:6] == ["subgraph cluster_finance {",
                          'color="#888888" fontname=Helvetica label=finance style="rounded,dashed"']
    assert lines[-3:] == ['raw:id:e -> "fin.orders":id:w',
                          '"fin.orders":__asset:e -> report:__asset:w [style=dashed]', "}"]
    orders = next(line for line in lines if line.startswith('"fin.orders" ['))
    assert '<TABLE BORDER="3"' in orders and 'COLOR="#a67c00"' in orders  # the target, drawn thicker; stale
    assert '<TD PORT="__asset" BGCOLOR="#fff4cc"><B>fin.orders</B><BR/>~ stale</TD>' in orders
    assert '<TD PORT="id" ALIGN="LEFT">id</TD>' in orders
    assert '<TD PORT="odd" ALIGN="LEFT" TOOLTIP="cannot be placed"><I>? odd</I></TD>' in orders
    report = next(line for line in lines if line.startswith("report ["))
    assert "✗ failed" in report and '<I>? columns unknown</I>' in report and "a python asset: not analysed" in report


def test_the_lineage_command_prints_dot(small, capsys):
    code, out, err = run(capsys, small, "lineage", "--format", "dot")
    assert code == 0, err
    lines = [line.strip() for line in out.splitlines()]
    assert {"subgraph cluster_marts {", "subgraph cluster_staging {", "subgraph cluster_python {"} <= set(lines)
    assert not any("cluster_default" in line for line in lines)  # assets without a group stay outside
    revenue = next(line for line in lines if line.startswith("revenue ["))
    assert revenue == ('revenue [label="revenue\\n○ missing" color="#1f5fbf" fillcolor="#e2ecfb" shape=box '
                       'style="rounded,filled" tooltip="revenue: missing (sql asset)"]')
    assert {"raw_orders -> stg_orders", "stg_orders -> revenue", "revenue -> scores", "scores -> scored"} <= set(lines)


def test_the_lineage_command_draws_columns(small, capsys):
    code, out, err = run(capsys, small, "lineage", "--columns", "--format", "dot")
    assert code == 0, err
    lines = {line.strip() for line in out.splitlines()}
    assert {"raw_orders:amount:e -> stg_orders:amount:w", "stg_orders:amount:e -> revenue:total:w",
            "raw_customers:name:e -> revenue:name:w", "revenue:total:e -> scored:total:w",
            "scores:__asset:e -> scored:name:w",  # 'scores' has no known columns: its edge leaves its title
            "revenue:__asset:e -> scores:__asset:w [style=dashed]"} <= lines
    scored = next(line for line in lines if line.startswith("scored ["))
    assert re.search(r'<TD PORT="score" ALIGN="LEFT" TOOLTIP="[^"]*more than one table[^"]*"><I>\? score</I>', scored)


def test_a_column_target_draws_its_path_only(small, capsys):
    code, out, err = run(capsys, small, "lineage", "revenue.total", "--format", "dot")
    assert code == 0, err
    edges = sorted(line.strip() for line in out.splitlines() if "->" in line)
    assert edges == ["raw_orders:amount:e -> stg_orders:amount:w",
                     "revenue:__asset:e -> scores:__asset:w [style=dashed]",  # a Python asset reads it all
                     "revenue:total:e -> scored:total:w", "stg_orders:amount:e -> revenue:total:w"]


def test_svg_and_png_are_drawn_for_real_and_written_atomically(small, capsys, tmp_path):
    target = tmp_path / "out" / "lineage.svg"
    target.parent.mkdir()
    target.write_text("an older drawing")
    code, out, err = run(capsys, small, "lineage", "--columns", "-o", str(target))
    assert code == 0, err
    assert out.strip() == f"wrote the svg drawing of 6 asset(s) to {target}"
    svg = target.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "○ missing" in svg and ">revenue</text>" in svg
    assert [p.name for p in target.parent.iterdir()] == ["lineage.svg"]  # no temporary file left behind
    code, _, err = run(capsys, small, "lineage", "revenue", "--format", "png", "-o", str(tmp_path / "x.out"))
    assert code == 0, err
    assert (tmp_path / "x.out").read_bytes().startswith(b"\x89PNG")


def test_without_dot_images_fail_clearly_and_dot_text_still_works(small, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no Graphviz programs to be found
    code, _, err = run(capsys, small, "lineage", "-o", str(tmp_path / "lineage.svg"))
    assert code == 2 and "needs Graphviz's 'dot' program" in err and "apt-get install graphviz" in err
    assert not (tmp_path / "lineage.svg").exists()
    code, out, _ = run(capsys, small, "lineage", "-o", str(tmp_path / "lineage.dot"))
    assert code == 0 and (tmp_path / "lineage.dot").read_text().startswith("digraph lineage {")


def test_writing_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(DrawingError, match="cannot write the drawing to .*check that its folder exists"):
        write_file(tmp_path / "missing" / "lineage.svg", b"<svg/>")
    with pytest.raises(DrawingError, match="the formats are dot, svg, png"):
        render(build_drawing([], []), "pdf")


def test_a_dot_that_never_finishes_is_given_up_with_the_reason(tmp_path, monkeypatch):
    """dot was run without a time limit: one that hangs (or a graph it takes forever over) hung the command."""
    programs = tmp_path / "bin"
    programs.mkdir()
    (programs / "dot").write_text("#!/bin/sh\nexec sleep 60\n")
    (programs / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{programs}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    with pytest.raises(DrawingError, match=r"'dot' did not finish drawing svg in 1 s; draw fewer assets"):
        render(build_drawing([node("raw", "source", "source")], []), "svg", timeout=1.0)
    assert time.monotonic() - started < 10
