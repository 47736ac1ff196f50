"""Column lineage of Python (polars) assets, read off the plan of their function run on empty frames."""

from __future__ import annotations

import os

import polars as pl
import pytest

from assets_core.declaring.definitions import Output, asset, source_asset
from assets_core.declaring.sql import sql_asset
from assets_core.errors import DefinitionError
from assets_core.lineage.python import parse_dtype, python_key, python_lineage
from assets_core.lineage.sql import TableLineage, project_lineage
from assets_core.planning.graph import AssetGraph
from assets_core.planning.versioning import CodeVersioner

C, T, A = "copied", "transformed", "aggregated"
ORDERS = [("id", "Int64"), ("customer_id", "Int64"), ("amount", "Float64"), ("status", "String"),
          ("ordered_at", "Datetime(time_unit='us', time_zone=None)"), ("tags", "List(String)")]
CUSTOMERS = [("id", "Int64"), ("name", "String"), ("country", "String")]
REFUNDS = [("order_id", "Int64"), ("amount", "Float64")]
SCHEMAS = {"orders": ORDERS, "customers": CUSTOMERS, "refunds": REFUNDS}


def traced(item, schemas=SCHEMAS):
    """Each column's origins with how, and the columns used only to filter, join, group or sort."""
    result = python_lineage(item, schemas)
    assert not result.problem, result.problem
    assert not result.unknown, result.unknown
    assert all(result.direct[c] == tuple(result.how[c]) for c in result.columns)
    return {column: dict(result.how[column]) for column in result.columns}, result.used


# --- projections and expressions --------------------------------------------------------------------------------

@asset
def picked(orders):
    return orders.select("id", total=pl.col("amount"))


@asset
def widened(orders):
    return orders.with_columns(double=pl.col("amount") * 2).drop("tags", "ordered_at")


@asset
def renamed(orders):
    return orders.rename({"id": "order_id", "status": "state"}).select("order_id", "state")


@asset
def arithmetic(orders):
    return orders.select(score=pl.col("amount") * pl.col("customer_id") + pl.col("id"))


@asset
def conditional(orders):
    return orders.select(
        "id", size=pl.when(pl.col("amount") > 100).then(pl.lit("big")).otherwise(pl.col("status")))


@asset
def cast(orders):
    return orders.select(pl.col("id").cast(pl.String), same=pl.col("amount").cast(pl.Float64))


@asset
def strings(orders):
    return orders.select(upper=pl.col("status").str.to_uppercase(),
                         label=pl.concat_str(pl.col("status"), pl.lit("-"), pl.col("id")))


@asset
def dates(orders):
    return orders.select(year=pl.col("ordered_at").dt.year(), day=pl.col("ordered_at").dt.truncate("1d"))


@asset
def literals(orders):
    return orders.select("id", one=pl.lit(1), source=pl.lit("web"))


@asset
def indexed(orders):
    return orders.select("id").with_row_index("n")


@asset
def nulls_filled(orders):
    return orders.select(pl.col("amount").fill_null(0), first=pl.coalesce("status", pl.lit("?")))


def euros(column: str) -> pl.Expr:
    return (pl.col(column) * 0.92).round(2).alias(f"{column}_eur")


@asset
def with_helper(orders):
    return orders.select("id", euros("amount"))


@asset
def lazy_annotated(orders: pl.LazyFrame) -> pl.LazyFrame:
    return orders.select("id", pl.col("amount").abs())


@asset
def eager_annotated(orders: pl.DataFrame) -> pl.DataFrame:
    return orders.filter(pl.col("amount") > 0).select("id", "status")


@asset
def hinted(orders):
    return orders.set_sorted("id").select("id")


@asset
def wrapped(orders):
    return Output(orders.select("id"), metadata={"note": "x"})


@asset
def with_previous(orders, previous):
    return orders.select("id") if previous is None else previous


@asset
def with_context(orders, context):
    return orders.select("id", pl.lit(context.asset).alias("asset"))


@pytest.mark.parametrize("item, expected", [
    (picked, {"id": {"orders.id": C}, "total": {"orders.amount": C}}),
    (widened, {"id": {"orders.id": C}, "customer_id": {"orders.customer_id": C}, "amount": {"orders.amount": C},
               "status": {"orders.status": C}, "double": {"orders.amount": T}}),
    (renamed, {"order_id": {"orders.id": C}, "state": {"orders.status": C}}),
    (arithmetic, {"score": {"orders.amount": T, "orders.customer_id": T, "orders.id": T}}),
    (conditional, {"id": {"orders.id": C}, "size": {"orders.amount": T, "orders.status": T}}),
    (cast, {"id": {"orders.id": T}, "same": {"orders.amount": C}}),  # a cast to its own dtype changes nothing
    (strings, {"upper": {"orders.status": T}, "label": {"orders.status": T, "orders.id": T}}),
    (dates, {"year": {"orders.ordered_at": T}, "day": {"orders.ordered_at": T}}),
    (literals, {"id": {"orders.id": C}, "one": {}, "source": {}}),
    (indexed, {"n": {}, "id": {"orders.id": C}}),
    (nulls_filled, {"amount": {"orders.amount": T}, "first": {"orders.status": T}}),
    (with_helper, {"id": {"orders.id": C}, "amount_eur": {"orders.amount": T}}),
    (lazy_annotated, {"id": {"orders.id": C}, "amount": {"orders.amount": T}}),
    (hinted, {"id": {"orders.id": C}}),
    (wrapped, {"id": {"orders.id": C}}),
    (with_previous, {"id": {"orders.id": C}}),
    (with_context, {"id": {"orders.id": C}, "asset": {}}),
], ids=lambda value: getattr(value, "name", ""))
def test_projection(item, expected):
    assert traced(item) == (expected, ())


def test_a_dataframe_annotated_parameter_gets_a_lazyframe_too():
    assert traced(eager_annotated) == ({"id": {"orders.id": C}, "status": {"orders.status": C}}, ("orders.amount",))


# --- rows: filter, sort, slice, unique, explode -----------------------------------------------------------------

@asset
def filtered_sorted(orders):
    return orders.filter(pl.col("status") == "paid").sort("ordered_at", "id").head(10).select("id", "amount")


@asset
def deduplicated(orders):
    return orders.unique(subset=["customer_id"]).slice(1, 5).select("id")


@asset
def exploded(orders):
    return orders.select("id", "tags").explode("tags")


def test_rows_filtered_sorted_and_sliced():
    assert traced(filtered_sorted) == ({"id": {"orders.id": C}, "amount": {"orders.amount": C}},
                                       ("orders.ordered_at", "orders.status"))


def test_unique_uses_its_subset():
    assert traced(deduplicated) == ({"id": {"orders.id": C}}, ("orders.customer_id",))


def test_explode_gives_the_lists_items():
    assert traced(exploded) == ({"id": {"orders.id": C}, "tags": {"orders.tags": T}}, ())


# --- joins ------------------------------------------------------------------------------------------------------

def _join(how: str, **options: object):
    @asset(name=f"joined_{how}")
    def joined(orders, refunds):
        left = orders.select("id", "amount", "status")
        return left.join(refunds, left_on="id", right_on="order_id", how=how, **options)

    return joined


REFUND_AMOUNT = {"amount_refund": {"refunds.amount": C}}
LEFT = {"id": {"orders.id": C}, "amount": {"orders.amount": C}, "status": {"orders.status": C}}


@pytest.mark.parametrize("how, options, expected, used", [
    ("inner", {"suffix": "_refund"}, {**LEFT, **REFUND_AMOUNT}, ("refunds.order_id",)),
    ("left", {"suffix": "_refund"}, {**LEFT, **REFUND_AMOUNT}, ("refunds.order_id",)),
    ("right", {"suffix": "_refund"},
     {"amount": {"orders.amount": C}, "status": {"orders.status": C}, "order_id": {"refunds.order_id": C},
      "amount_refund": {"refunds.amount": C}}, ("orders.id",)),
    ("full", {"suffix": "_refund", "coalesce": True},
     {"id": {"orders.id": C, "refunds.order_id": C}, "amount": {"orders.amount": C}, "status": {"orders.status": C},
      **REFUND_AMOUNT}, ()),
    ("full", {"suffix": "_refund"},
     {**LEFT, "order_id": {"refunds.order_id": C}, **REFUND_AMOUNT}, ()),
    ("semi", {}, LEFT, ("refunds.order_id",)),
    ("anti", {}, LEFT, ("refunds.order_id",)),
], ids=["inner", "left", "right", "full-coalesce", "full", "semi", "anti"])
def test_join(how, options, expected, used):
    assert traced(_join(how, **options)) == (expected, used)


@asset
def crossed(orders, customers):
    return orders.select("id", "amount").join(customers, how="cross", suffix="_customer")


@asset
def joined_on_expression(orders, customers):
    return orders.join(customers, left_on=pl.col("customer_id") + 0, right_on="id").select("amount", "name")


@asset
def self_joined(orders):
    parents = orders.select("id", parent=pl.col("customer_id"))
    return orders.select("id", "amount").join(parents, on="id", suffix="_p")


def test_cross_join_suffixes_the_right_names():
    assert traced(crossed) == ({"id": {"orders.id": C}, "amount": {"orders.amount": C},
                                "id_customer": {"customers.id": C}, "name": {"customers.name": C},
                                "country": {"customers.country": C}}, ())


def test_join_keys_that_are_expressions_are_used():
    assert traced(joined_on_expression) == ({"amount": {"orders.amount": C}, "name": {"customers.name": C}},
                                            ("customers.id", "orders.customer_id"))


def test_a_join_of_an_upstream_with_itself():
    assert traced(self_joined) == ({"id": {"orders.id": C}, "amount": {"orders.amount": C},
                                    "parent": {"orders.customer_id": C}}, ())


@asset(inputs={"before": "orders", "after": "orders_copy"})
def twins(before, after):
    return before.select("id").join(after.select("id", "amount"), on="id")


def test_two_upstreams_with_one_schema_stay_apart():
    got = traced(twins, {"orders": ORDERS, "orders_copy": ORDERS})
    assert got == ({"id": {"orders.id": C}, "amount": {"orders_copy.amount": C}}, ("orders_copy.id",))


# --- aggregations and reshaping ---------------------------------------------------------------------------------

@asset
def grouped(orders):
    return orders.group_by("status").agg(pl.col("amount").sum().alias("total"), pl.len(), pl.col("id"),
                                         paid=pl.col("amount").filter(pl.col("ordered_at").is_not_null()).max())


@asset
def grouped_by_expression(orders):
    return orders.group_by(month=pl.col("ordered_at").dt.month()).agg(pl.col("amount").mean()).select("amount")


@asset
def windows(orders):
    return orders.select("id", share=pl.col("amount") / pl.col("amount").sum().over("customer_id"),
                         rank=pl.col("amount").rank().over("status"))


@asset
def totals(orders):
    return orders.select(pl.col("amount").sum(), n=pl.col("id").n_unique(), nulls=pl.col("status").null_count(),
                         median=pl.col("amount").quantile(0.5), r=pl.corr("amount", "customer_id"))


@asset
def pivoted(orders):
    return orders.pivot(on="status", on_columns=["paid", "open"], index="customer_id", values="amount",
                        aggregate_function="sum")


@asset
def unpivoted(orders):
    return orders.unpivot(index="id", on=["amount", "customer_id"], variable_name="field")


def test_group_by():
    assert traced(grouped) == ({"status": {"orders.status": C}, "total": {"orders.amount": A}, "len": {},
                                "id": {"orders.id": A}, "paid": {"orders.amount": A}}, ("orders.ordered_at",))


def test_group_by_an_expression():
    assert traced(grouped_by_expression) == ({"amount": {"orders.amount": A}}, ("orders.ordered_at",))


def test_window_aggregates_are_aggregated():
    assert traced(windows) == ({"id": {"orders.id": C}, "share": {"orders.amount": A},
                                "rank": {"orders.amount": T}}, ("orders.customer_id", "orders.status"))


def test_whole_column_aggregates():
    assert traced(totals) == ({"amount": {"orders.amount": A}, "n": {"orders.id": A}, "nulls": {"orders.status": A},
                               "median": {"orders.amount": A},
                               "r": {"orders.amount": A, "orders.customer_id": A}}, ())


def test_pivot():
    assert traced(pivoted) == ({"customer_id": {"orders.customer_id": C}, "paid": {"orders.amount": A},
                                "open": {"orders.amount": A}}, ("orders.status",))


def test_unpivot_names_come_from_no_column():
    assert traced(unpivoted) == ({"id": {"orders.id": C}, "field": {},
                                  "value": {"orders.amount": C, "orders.customer_id": C}}, ())


# --- concatenation ----------------------------------------------------------------------------------------------

@asset
def stacked(orders, refunds):
    return pl.concat([orders.select("amount"), refunds.select(pl.col("amount") * -1)])


@asset
def diagonal(orders, refunds):
    return pl.concat([orders.select("id", "amount"), refunds], how="diagonal")


@asset
def side_by_side(orders, customers):
    return pl.concat([orders.select("id"), customers.select("name")], how="horizontal")


def test_vertical_concat():
    assert traced(stacked) == ({"amount": {"orders.amount": C, "refunds.amount": T}}, ())


def test_diagonal_concat_fills_missing_columns_with_nothing():
    assert traced(diagonal) == ({"id": {"orders.id": C}, "amount": {"orders.amount": C, "refunds.amount": C},
                                 "order_id": {"refunds.order_id": C}}, ())


def test_horizontal_concat():
    assert traced(side_by_side) == ({"id": {"orders.id": C}, "name": {"customers.name": C}}, ())


# --- more plan steps --------------------------------------------------------------------------------------------

@asset
def as_of(orders, refunds):
    left = orders.select("id", "customer_id", "ordered_at").sort("ordered_at")
    right = orders.select("ordered_at", "customer_id", paid=pl.col("amount")).sort("ordered_at")
    return left.join_asof(right, on="ordered_at", by="customer_id").select("id", "paid")


@asset
def merged(orders, refunds):
    return orders.select("id", "amount").sort("id").merge_sorted(
        refunds.select(id=pl.col("order_id"), amount=pl.col("amount")).sort("id"), key="id").select("amount")


@asset
def top(orders):
    return orders.top_k(3, by="amount").select("id")


@asset
def through_sql(orders):
    return pl.SQLContext(o=orders).execute("select id, amount * 2 as double from o where status = 'paid'")


@asset
def joined_where(orders, customers):
    return orders.join_where(customers, pl.col("customer_id") == pl.col("id_right"), suffix="_right").select(
        "amount", "name")


@asset
def unnested(orders):
    return orders.select("id", point=pl.struct(x=pl.col("amount"), y=pl.col("status"))).unnest("point")


@asset
def every_column(orders):
    return orders.group_by("customer_id").agg(pl.col("id", "amount").sum().name.suffix("_sum"))


@asset
def by_day(orders):
    return orders.sort("ordered_at").group_by_dynamic("ordered_at", every="1d").agg(pl.col("amount").sum())


def test_join_asof_by():
    assert traced(as_of) == ({"id": {"orders.id": C}, "paid": {"orders.amount": C}},
                             ("orders.customer_id", "orders.ordered_at"))


def test_merge_sorted():
    assert traced(merged) == ({"amount": {"orders.amount": C, "refunds.amount": C}}, ("orders.id", "refunds.order_id"))


def test_top_k_sorts():
    assert traced(top) == ({"id": {"orders.id": C}}, ("orders.amount",))


def test_a_sql_context_is_a_plan_too():
    assert traced(through_sql) == ({"id": {"orders.id": C}, "double": {"orders.amount": T}}, ("orders.status",))


def test_join_where():
    assert traced(joined_where) == ({"amount": {"orders.amount": C}, "name": {"customers.name": C}},
                                    ("customers.id", "orders.customer_id"))


def test_unnest_gives_each_field_the_whole_structs_lineage():
    both = {"orders.amount": T, "orders.status": T}  # fields are not followed one by one through a struct
    assert traced(unnested) == ({"id": {"orders.id": C}, "x": both, "y": both}, ())


def test_expanded_columns_in_an_aggregation():
    assert traced(every_column) == ({"customer_id": {"orders.customer_id": C}, "id_sum": {"orders.id": A},
                                     "amount_sum": {"orders.amount": A}}, ())


def test_a_dynamic_group_by_is_unknown():
    result = python_lineage(by_day, SCHEMAS)
    assert set(result.unknown) == {"ordered_at", "amount"}
    assert result.unknown["amount"] == ("it groups with map_groups, group_by_dynamic or rolling, which the lineage "
                                        "does not understand")


# --- what cannot be traced says why -----------------------------------------------------------------------------

@asset
def with_udf(orders):
    return orders.select("id", doubled=pl.col("amount").map_elements(lambda x: float(str(x)),
                                                                     return_dtype=pl.Float64))


@asset
def with_frame_udf(orders):
    return orders.map_batches(lambda frame: frame)


@asset
def with_list_eval(orders):
    return orders.select("id", upper=pl.col("tags").list.eval(pl.element().str.to_uppercase()))


@asset
def looping(orders):
    return pl.DataFrame({"id": [row[0] for row in orders.iter_rows()]})


@asset
def collecting(orders):
    frame = orders.collect()
    return frame.with_columns(double=pl.col("amount") * 2)


@asset
def reading_an_item(orders):
    top = orders.select(pl.col("amount").max()).collect().item()
    return orders.filter(pl.col("amount") == top)


@asset
def reading_a_list(orders, customers):
    ids = customers.select("id").collect().to_series().to_list()
    return orders.filter(pl.col("customer_id").is_in(ids))


@asset
def raising(orders):
    raise ValueError("no rows to work with")


@asset
def cancelled(orders):
    import asyncio

    raise asyncio.CancelledError("the loop went away")  # a BaseException, not an Exception


@asset
def a_dict(orders):
    return {"rows": 0}


@asset
def literal_frame(orders):
    return pl.DataFrame({"id": [1, 2]})


@asset
def joined_to_a_literal(orders):
    codes = pl.LazyFrame({"status": ["paid"], "code": [1]})
    return orders.select("id", "status").join(codes, on="status")


@pytest.mark.parametrize("item, reason", [
    (looping, ("running its function on empty frames raised AttributeError: 'LazyFrame' object has no attribute "
               "'iter_rows' (eager-only operations cannot be traced: its inputs are LazyFrames)")),
    (collecting, "its function reads its inputs' rows"),
    (reading_an_item, "its function reads its inputs' rows"),
    (reading_a_list, "its function reads its inputs' rows"),
    (raising, "running its function on empty frames raised ValueError: no rows to work with"),
    (cancelled, "running its function on empty frames raised CancelledError: the loop went away"),
    (a_dict, "its function returns a dict, not a LazyFrame or DataFrame"),
    (literal_frame, "its function returns a DataFrame, whose making has no plan to read"),
], ids=lambda value: getattr(value, "name", ""))
def test_untraceable_functions_say_why(item, reason):
    result = python_lineage(item, SCHEMAS)
    assert result.columns is None and result.problem.startswith(reason), result.problem
    assert not result.direct and not result.how


def test_a_python_function_in_an_expression_makes_its_column_unknown():
    result = python_lineage(with_udf, SCHEMAS)
    assert result.columns == ("id", "doubled") and dict(result.how) == {"id": {"orders.id": C}}
    assert result.unknown["doubled"].startswith("it is computed by a Python function (map_elements, map_batches")


def test_a_python_function_over_the_frame_makes_every_column_unknown():
    result = python_lineage(with_frame_udf, SCHEMAS)
    assert result.columns == tuple(name for name, _ in ORDERS) and not result.direct
    assert set(result.unknown.values()) == {
        ("the plan holds a Python function (map_elements, map_batches or the like; polars calls it 'opaque python "
         "mapfunction'), which cannot be looked into")}


def test_an_expression_polars_does_not_open_is_named():
    result = python_lineage(with_list_eval, SCHEMAS)
    assert dict(result.direct) == {"id": ("orders.id",)}
    assert result.unknown == {"upper": "it is computed by 'list.eval', whose inputs polars does not show"}


def test_a_frame_made_in_the_function_is_unknown():
    result = python_lineage(joined_to_a_literal, SCHEMAS)
    assert result.columns == ("id", "status", "code") and not result.direct
    assert result.unknown["id"].startswith("its rows are chosen by an expression whose lineage is unknown: it "
                                           "builds a frame of its own")


def test_reading_a_file_of_its_own_is_unknown(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("status,rate\npaid,1.5\n")

    @asset
    def rated(orders):
        return pl.concat([orders.select("status"), pl.scan_csv(path).select("status")])

    result = python_lineage(rated, SCHEMAS)
    assert result.unknown == {"status": f"it reads {path} itself, which is no upstream"}


def test_an_upstream_without_a_schema():
    result = python_lineage(picked, {"orders": None})
    assert result.columns is None
    assert result.problem.startswith("upstream 'orders' has no known schema yet (it is not materialized")


def test_an_unknown_dtype_is_a_reason_not_a_crash():
    result = python_lineage(picked, {"orders": [("id", "Int64"), ("amount", "Quaternion(4)")]})
    assert result.problem == ("upstream 'orders' has column 'amount' of dtype 'Quaternion(4)', which is not a "
                              "polars dtype")


def test_dtypes_are_parsed_as_polars_prints_them():
    for dtype in [pl.Int64(), pl.String(), pl.Datetime("ns", "UTC"), pl.List(pl.Int64), pl.Decimal(10, 2),
                  pl.Struct({"a": pl.Int64, "b": pl.List(pl.String)}), pl.Enum(["a", "b"]), pl.Array(pl.Int8, 3),
                  pl.Duration("ms"), pl.Categorical(), pl.Null()]:
        assert parse_dtype(str(dtype)) == dtype
    assert parse_dtype("Int64.__class__") is None and parse_dtype("List(") is None


# --- declared lineage -------------------------------------------------------------------------------------------

@asset(lineage={"score": ["orders.amount", "customers.country"]})
def declared(orders, customers):
    return orders.select("id", score=pl.col("amount").map_elements(lambda x: x, return_dtype=pl.Float64))


@asset(lineage={"total": ["orders.amount"]})
def declared_untraceable(orders):
    return orders.collect().select(total=pl.col("amount").sum())


def test_declared_lineage_wins():
    result = python_lineage(declared, SCHEMAS)
    assert dict(result.direct) == {"id": ("orders.id",), "score": ("customers.country", "orders.amount")}
    assert dict(result.how)["score"] == {"customers.country": "declared", "orders.amount": "declared"}
    assert not result.unknown


def test_declared_lineage_stands_when_the_trace_fails():
    result = python_lineage(declared_untraceable, SCHEMAS)
    assert result.columns == ("total",) and dict(result.direct) == {"total": ("orders.amount",)}
    assert result.problem.startswith("its function reads its inputs' rows")


def test_a_bad_declaration_is_a_definition_error_with_file_and_line():
    @asset(lineage={"total": ["order.amount"], "n": ["orders.id"]})
    def bad(orders):
        return orders

    [problem] = bad.problems
    assert isinstance(problem, DefinitionError)
    assert problem.location.file == os.path.abspath(__file__)
    assert problem.location.line == bad.fn.__code__.co_firstlineno
    assert str(problem).startswith(f"asset 'bad' ({problem.location}) declares lineage['total'] = 'order.amount'")


@asset
def undeclared(orders, customers):
    return orders.select("id", score=pl.col("amount").map_elements(lambda x: x, return_dtype=pl.Float64))


def test_declaring_lineage_leaves_the_code_version_alone():
    versioner = CodeVersioner(os.path.dirname(__file__))
    assert versioner.version(declared) == versioner.version(undeclared)


# --- the project's pass and the cache key -----------------------------------------------------------------------

def test_project_lineage_traces_python_assets_in_dependency_order():
    raw = source_asset("raw", "raw.csv")

    @asset
    def cleaned(raw):
        return raw.select("id", amount=pl.col("amount").abs())

    @asset
    def doubled(cleaned):
        return cleaned.select("id", double=pl.col("amount") * 2)

    summed = sql_asset("summed", "select id, sum(double) as total from doubled group by id")

    @asset
    def from_sql(summed):
        return summed.select("total")

    graph = AssetGraph.build([raw, cleaned, doubled, summed, from_sql])
    typed = {"raw": [("id", "Int64"), ("amount", "Float64")]}
    lineages = project_lineage(graph, {"raw": ("id", "amount")}, typed=typed)
    assert dict(lineages["cleaned"].how) == {"id": {"raw.id": C}, "amount": {"raw.amount": T}}
    assert dict(lineages["doubled"].how) == {"id": {"cleaned.id": C}, "double": {"cleaned.amount": T}}
    assert lineages["from_sql"].problem.startswith("upstream 'summed' has no known schema yet")
    typed["summed"] = [("id", "Int64"), ("total", "Float64")]
    again = project_lineage(graph, {"raw": ("id", "amount")}, lineages, typed)
    assert dict(again["from_sql"].direct) == {"total": ("summed.total",)}
    assert set(project_lineage(graph, {"raw": ("id", "amount")})) == {"summed"}  # without types: SQL alone


def test_the_key_follows_the_upstream_schemas():
    assert python_key(picked, SCHEMAS) == python_lineage(picked, SCHEMAS).key
    assert python_key(picked, SCHEMAS) != python_key(picked, {"orders": ORDERS[:3]})


def test_json_keeps_how_and_used_and_reads_old_json():
    lineage = python_lineage(filtered_sorted, SCHEMAS)
    assert TableLineage.from_json("filtered_sorted", lineage.to_json()) == lineage
    old = {"columns": ["x"], "direct": {"x": ["a.x"]}, "unknown": {}, "problem": "", "key": "k"}
    assert TableLineage.from_json("b", old) == TableLineage("b", ("x",), {"x": ("a.x",)}, key="k")


def test_what_a_traced_function_prints_or_logs_goes_nowhere_and_sys_exit_only_fails_the_trace(capsys):
    import logging
    import sys

    heard: list[str] = []
    listener = logging.Handler()
    listener.emit = lambda record: heard.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("chatty").addHandler(listener)

    def chatty(orders: pl.LazyFrame) -> pl.LazyFrame:
        print("noise on stdout")
        print("noise on stderr", file=sys.stderr)
        logging.getLogger("chatty").warning("a logged warning")
        return orders.select("id")

    def leaving(orders: pl.LazyFrame) -> pl.LazyFrame:
        print("about to leave")
        sys.exit(3)

    traced = python_lineage(asset(chatty, name="chatty", inputs={"orders": "orders"}), SCHEMAS)
    assert dict(traced.direct) == {"id": ("orders.id",)}
    failed = python_lineage(asset(leaving, name="leaving", inputs={"orders": "orders"}), SCHEMAS)
    assert failed.columns is None and "SystemExit: 3" in failed.problem
    out, err = capsys.readouterr()
    assert "noise" not in out + err and "about to leave" not in out + err
    assert heard == []
    logging.getLogger("chatty").warning("heard now")
    assert heard == ["heard now"]
    print("printing works again")
    assert capsys.readouterr().out == "printing works again\n"
    assert logging.getLogger().manager.disable == logging.NOTSET


def test_a_traced_function_cannot_write_exit_sleep_or_hang(tmp_path):
    import time

    written = tmp_path / "side_effect.txt"

    def writes(orders: pl.LazyFrame) -> pl.LazyFrame:
        written.write_text("written while traced")
        return orders.select("id")

    def leaves(orders: pl.LazyFrame) -> pl.LazyFrame:
        os._exit(3)

    def sleeps(orders: pl.LazyFrame) -> pl.LazyFrame:
        time.sleep(60)
        return orders.select("id")

    def loops(orders: pl.LazyFrame) -> pl.LazyFrame:
        while True:
            try:
                pass
            except Exception:
                pass

    def removes(orders: pl.LazyFrame) -> pl.LazyFrame:
        try:
            os.remove(tmp_path / "kept.txt")
        except OSError:
            pass
        return orders.select("id")

    (tmp_path / "kept.txt").write_text("kept")
    started = time.monotonic()
    for fn, why in [(writes, "writing"), (leaves, "os._exit(3)"), (sleeps, "time.sleep"),
                    (loops, "running longer than"), (removes, "os.remove")]:
        failed = python_lineage(asset(fn, name=fn.__name__, inputs={"orders": "orders"}), SCHEMAS)
        assert failed.columns is None and why in failed.problem, (fn.__name__, failed.problem)
    assert time.monotonic() - started < 15
    assert not written.exists() and (tmp_path / "kept.txt").read_text() == "kept"
    time.sleep(0)  # sleeping and writing work again outside a trace
    written.write_text("ok")
