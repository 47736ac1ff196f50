"""Enrich: the customers of both systems joined into one row each, with location and lifetime value."""

import logging

import polars as pl

from assets_core import asset
from pipeline import rules

log = logging.getLogger(__name__)


@asset(group="enrich", owners=["data-team"])
def customer_value(orders: pl.DataFrame) -> pl.DataFrame:
    """Lifetime value per customer email: the total of their paid orders, how many, and the last one's date."""
    paid = orders.filter(pl.col("status") == "paid")
    value = paid.group_by(email=rules.email("email")).agg(
        paid_orders=pl.len(),
        lifetime_value=pl.col("amount_cents").sum() / 100,
        last_order=pl.col("ordered_at").str.to_datetime("%Y-%m-%d %H:%M:%S").max().dt.date(),
    )
    # No row counts here (the run records each asset's rows): an asset whose code never reads its data can be
    # traced on empty frames, which gives its column lineage (assets lineage customer_value.lifetime_value).
    log.info("summed the paid orders of each customer")
    return value.drop_nulls("email").sort("email")


@asset(group="enrich", tags=["pii"], owners=["data-team"])
def customers(crm_customers_clean: pl.DataFrame, app_users_clean: pl.DataFrame, postal_codes: pl.DataFrame,
              countries: pl.DataFrame, customer_value: pl.DataFrame) -> pl.DataFrame:
    """One row per customer: CRM and product users joined by email, with city, region, country and value."""
    frame = join_systems(rules.kept(crm_customers_clean), rules.kept(app_users_clean))
    frame = add_location(frame, postal_codes, countries)
    frame = frame.join(customer_value, on="email", how="left")
    log.info("joined the customers of both systems by email, with their location and value")
    # sorted: a full join's rows come in no set order, and the same customers must give the same data version
    return frame.with_columns(pl.col("paid_orders", "lifetime_value").fill_null(0)).sort("email")


def join_systems(crm: pl.DataFrame, app: pl.DataFrame) -> pl.DataFrame:
    """Customers known to either system; where both know a field, the CRM wins, except the earlier signup."""
    crm = crm.select("email", "name", "phone", "country_code", "postal_code", "signup_date", "crm_id")
    app = app.select("email", "name", "country_code", "signup_date", "user_id")
    joined = crm.join(app, on="email", how="full", coalesce=True, suffix="_app")
    return joined.select(
        "email",
        pl.coalesce("name", "name_app").alias("name"),
        "phone",
        pl.coalesce("country_code", "country_code_app").alias("country_code"),
        "postal_code",
        pl.min_horizontal("signup_date", "signup_date_app").alias("signup_date"),
        "crm_id",
        "user_id",
    )


def add_location(frame: pl.DataFrame, postal_codes: pl.DataFrame, countries: pl.DataFrame) -> pl.DataFrame:
    """City and region from the postal code (null when the code is not in the table), and the country's name."""
    places = postal_codes.select("country_code", pl.col("postal_code").cast(pl.String), "city", "region")
    names = countries.select(country_code="code", country="name")
    located = frame.join(places, on=["country_code", "postal_code"], how="left")
    return located.join(names, on="country_code", how="left")
