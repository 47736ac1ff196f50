"""Column lineage of SQL assets, on the traps real SQL sets."""

from __future__ import annotations

import pytest

from assets_core.declaring.definitions import source_asset
from assets_core.declaring.sql import sql_asset
from assets_core.lineage.sql import project_lineage, sql_lineage, trace
from assets_core.planning.graph import AssetGraph

SCHEMAS = {
    "orders": ["id", "customer_id", "amount", "status", "ordered_at"],
    "customers": ["id", "name", "country"],
    "refunds": ["order_id", "amount"],
}


def lineage_of(sql: str, schemas=SCHEMAS) -> dict[str, list[str]]:
    result = sql_lineage(sql_asset("model", sql), schemas)
    assert not result.problem, result.problem
    assert not result.unknown, result.unknown
    return {column: list(origins) for column, origins in result.direct.items()}


def test_cte_named_like_an_asset_is_not_that_asset():
    item = sql_asset("model", "with customers as (select id, country from orders) select * from customers")
    assert item.upstream == ("orders",)
    result = sql_lineage(item, {"orders": ["id", "country"]})
    assert dict(result.direct) == {"id": ("orders.id",), "country": ("orders.country",)}


def test_star_through_chained_ctes():
    sql = """
        with a as (select * from orders),
             b as (select * from a),
             c as (select *, amount * 2 as doubled from b)
        select * from c
    """
    got = lineage_of(sql)
    assert list(got) == [*SCHEMAS["orders"], "doubled"]
    assert got["doubled"] == ["orders.amount"] and got["status"] == ["orders.status"]


def test_union_branches_contribute_by_position():
    sql = """
        select id, amount from orders
        union all
        select order_id, -amount from refunds
    """
    assert lineage_of(sql) == {"id": ["orders.id", "refunds.order_id"], "amount": ["orders.amount", "refunds.amount"]}


def test_window_functions_read_their_partition_and_order():
    sql = "select id, sum(amount) over (partition by customer_id order by ordered_at) as running from orders"
    assert lineage_of(sql)["running"] == ["orders.amount", "orders.customer_id", "orders.ordered_at"]


def test_filter_join_and_group_columns_are_not_value_lineage():
    sql = """
        select c.country, count(*) as n, sum(o.amount) as total
        from orders o join customers c on o.customer_id = c.id
        where o.status = 'paid'
        group by c.country
    """
    assert lineage_of(sql) == {"country": ["customers.country"], "n": [], "total": ["orders.amount"]}


def test_correlated_subqueries():
    sql = """
        select o.id,
               (select max(r.amount) from refunds r where r.order_id = o.id) as biggest_refund
        from orders o
        where exists (select 1 from refunds r2 where r2.order_id = o.id and r2.amount > o.amount)
    """
    assert lineage_of(sql) == {"id": ["orders.id"], "biggest_refund": ["refunds.amount"]}


def test_column_alias_lists_on_ctes_and_derived_tables():
    sql = """
        with totals (customer, spent) as (select customer_id, sum(amount) from orders group by customer_id)
        select big.who, big.how_much
        from (select customer, spent from totals where spent > 100) as big (who, how_much)
    """
    assert lineage_of(sql) == {"who": ["orders.customer_id"], "how_much": ["orders.amount"]}


def test_ambiguous_unqualified_column_without_schema_is_unknown_not_empty():
    item = sql_asset("model", "select name, amount from orders join customers on orders.customer_id = customers.id")
    result = sql_lineage(item, {"orders": None, "customers": None})
    assert set(result.unknown) == {"name", "amount"}
    assert "more than one table" in result.unknown["name"]
    assert "name" not in result.direct


def test_star_without_schema_says_so():
    result = sql_lineage(sql_asset("model", "select * from orders"), {"orders": None})
    assert result.columns is None and "columns are not known" in result.problem


def test_single_table_without_schema_still_resolves():
    result = sql_lineage(sql_asset("model", "select id, amount * 2 as doubled from orders"), {"orders": None})
    assert dict(result.direct) == {"id": ("orders.id",), "doubled": ("orders.amount",)}


def test_schema_qualified_tables_map_to_dotted_assets():
    item = sql_asset("report", "select o.amount, finance.customers.name from finance.orders o "
                               "join finance.customers on o.customer_id = finance.customers.id")
    assert set(item.upstream) == {"finance.orders", "finance.customers"}
    result = sql_lineage(item, {"finance.orders": SCHEMAS["orders"], "finance.customers": SCHEMAS["customers"]})
    assert dict(result.direct) == {"amount": ("finance.orders.amount",), "name": ("finance.customers.name",)}


def test_project_lineage_infers_sql_schemas_in_order_and_traces_to_origins():
    raw = source_asset("raw", "raw.csv")
    staged = sql_asset("staged", "select id as order_id, amount / 100 as amount from raw")
    mart = sql_asset("mart", "select * from staged where amount > 0")
    graph = AssetGraph.build([raw, staged, mart])
    lineages = project_lineage(graph, {"raw": ("id", "amount", "note")})
    assert lineages["mart"].columns == ("order_id", "amount")
    assert dict(lineages["mart"].direct) == {"order_id": ("staged.order_id",), "amount": ("staged.amount",)}
    assert trace(lineages, "mart", "amount").origins == {"raw.amount"}
    again = project_lineage(graph, {"raw": ("id", "amount", "note")}, cached=lineages)
    assert all(again[name] is lineages[name] for name in lineages)  # unchanged: reused from the cache
    changed = project_lineage(graph, {"raw": ("id", "amount")}, cached=lineages)
    assert changed["staged"] is not lineages["staged"]


@pytest.mark.parametrize("sql,message", [
    ("select from where", "SQL syntax error"),
    ("select 1; select 2", "holds 2 SQL statements"),
    ("drop table orders", "is a DROP statement"),
])
def test_bad_sql_is_a_definition_problem(sql, message):
    item = sql_asset("model", sql)
    assert item.problems and message in str(item.problems[0])


def test_recursive_ctes_reach_their_fixpoint_not_a_recursion_error():
    """A recursive CTE reads itself: tracing it recursed until Python's limit (RecursionError, a traceback from
    every 'assets lineage --columns')."""
    counted = lineage_of("with recursive r(n, total) as (select 1, amount from orders union all "
                         "select n + 1, total from r where n < 3) select n, total from r")
    assert counted == {"n": [], "total": ["orders.amount"]}
    swapped = lineage_of("with recursive r(a, b) as (select id, amount from orders union all "
                         "select b, a from r where a < 3) select a, b from r")
    assert swapped == {"a": ["orders.amount", "orders.id"], "b": ["orders.amount", "orders.id"]}



def test_a_recursive_cte_read_through_sqlglots_stand_in_for_it():
    """sqlglot gives the recursive branch a stand-in for the CTE (a scope of its anchor alone): an anchor of two
    branches crashed every 'assets lineage --columns' and 'assets materialize' (IndexError), and without an alias
    list the recursion was read as the anchor, missing what later rounds bring in."""
    two = lineage_of("with recursive r(x) as (select id from orders union all select amount from orders "
                     "union all select x + 1 from r where x < 3) select x from r")
    assert two == {"x": ["orders.amount", "orders.id"]}
    rotated = lineage_of("with recursive r as (select id as a, amount as b, status as c from orders union all "
                         "select b, c, a from r where a < 3) select a from r")
    assert rotated == {"a": ["orders.amount", "orders.id", "orders.status"]}


def test_star_exclude_replace_and_rename():
    """`* exclude (...)` listed the excluded columns as outputs, `* replace` and `* rename` were ignored."""
    assert lineage_of("select * exclude (status, ordered_at) from orders") == {
        "id": ["orders.id"], "customer_id": ["orders.customer_id"], "amount": ["orders.amount"]}
    assert lineage_of("select o.* exclude (customer_id, status, ordered_at) replace (amount * c.id as amount) "
                      "from orders o join customers c on o.customer_id = c.id") == {
        "id": ["orders.id"], "amount": ["customers.id", "orders.amount"]}
    renamed = sql_lineage(sql_asset("model", "select * rename (amount as total) from refunds"), SCHEMAS)
    assert renamed.columns == ("order_id", "total") and renamed.direct["total"] == ("refunds.amount",)


def test_two_outputs_with_one_name_keep_the_first_ones_lineage():
    """`select * from orders join refunds ...` outputs two 'amount's; the second's lineage overwrote the first's,
    though a reader of 'amount' gets the first."""
    result = sql_lineage(sql_asset("model", "select * from customers join refunds on customers.id = "
                                            "refunds.order_id join orders on orders.id = refunds.order_id"), SCHEMAS)
    assert result.columns is not None and result.columns.count("id") == 2
    assert result.direct["id"] == ("customers.id",) and result.direct["amount"] == ("refunds.amount",)


def test_a_lineage_stored_by_an_older_analysis_is_not_reused():
    """The cache key was the SQL and its upstream schemas only: a lineage stored before '* exclude' was read
    (listing the excluded column) stayed in the catalog for good."""
    from assets_core.lineage.sql import TableLineage
    from assets_core.planning.versioning import digest

    raw = source_asset("raw", "raw.csv")
    model = sql_asset("model", "select * exclude (note) from raw")
    old_key = digest(model.dialect, model.sql or "", "raw=id,note")
    stored = TableLineage("model", ("id", "note"), {"id": ("raw.id",), "note": ("raw.note",)}, key=old_key)
    lineages = project_lineage(AssetGraph.build([raw, model]), {"raw": ("id", "note")}, cached={"model": stored})
    assert lineages["model"].columns == ("id",)
