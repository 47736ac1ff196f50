"""Analytics: the daily report on the warehouse's customers and on what cleaning removed."""

import logging
from typing import Any

import polars as pl

from assets_core import Output, asset
from pipeline import rules

log = logging.getLogger(__name__)

TOP = 5  # customers listed by lifetime value


@asset(group="analytics", tags={"schedule": "daily"}, owners=["analytics-team"])
def daily_report(dim_customers: pl.DataFrame, crm_customers_clean: pl.DataFrame,
                 app_users_clean: pl.DataFrame) -> Output:
    """The daily summary: customers by country, top customers by lifetime value, rows removed by each rule."""
    removed = {"crm": rules.rejection_counts(crm_customers_clean),
               "product": rules.rejection_counts(app_users_clean)}
    report = {
        "as_of": str(dim_customers["last_order"].max()),
        "customers": dim_customers.height,
        "customers_by_country": dict(dim_customers.group_by("country").len().iter_rows()),
        "customers_by_system": systems(dim_customers),
        "customers_without_city": dim_customers["city"].null_count(),
        "top_customers": top_customers(dim_customers),
        "rows_removed": removed,
    }
    total_value = round(dim_customers["lifetime_value"].sum(), 2)
    log.info("%d customers with a lifetime value of %.2f in total", report["customers"], total_value)
    return Output(report, metadata={
        "customers": report["customers"],
        "lifetime_value": total_value,
        "rows_removed": sum(sum(counts.values()) for counts in removed.values()),
        "top_customer": report["top_customers"][0]["email"],
    })


def systems(frame: pl.DataFrame) -> dict[str, int]:
    """How many customers only the CRM knows, only the product knows, or both know."""
    both = frame.filter(pl.col("in_crm") & pl.col("in_product")).height
    return {"both": both, "crm_only": frame["in_crm"].sum() - both, "product_only": frame["in_product"].sum() - both}


def top_customers(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The TOP customers by lifetime value (ties broken by email)."""
    best = frame.sort(["lifetime_value", "email"], descending=[True, False]).head(TOP)
    return best.select("email", "name", "country", "paid_orders", "lifetime_value").to_dicts()
