"""Load: the customer table of the warehouse."""

import logging

import polars as pl

from assets_core import asset

log = logging.getLogger(__name__)

COLUMNS = {  # the warehouse schema: column -> type
    "email": pl.String, "name": pl.String, "phone": pl.String, "city": pl.String, "region": pl.String,
    "postal_code": pl.String, "country_code": pl.String, "country": pl.String, "signup_date": pl.Date,
    "in_crm": pl.Boolean, "in_product": pl.Boolean, "paid_orders": pl.Int64, "lifetime_value": pl.Float64,
    "last_order": pl.Date,
}


@asset(group="warehouse", tags={"layer": "warehouse"}, owners=["data-team"])
def dim_customers(customers: pl.DataFrame) -> pl.DataFrame:
    """The warehouse's customer table: one row per email, in the warehouse schema, sorted by email.

    Its stored Parquet file is the table. It is named by its content and written atomically, so loading the
    same customers again changes nothing: the load is idempotent.
    """
    frame = customers.with_columns(in_crm=pl.col("crm_id").is_not_null(), in_product=pl.col("user_id").is_not_null())
    frame = frame.select([pl.col(name).cast(dtype) for name, dtype in COLUMNS.items()]).sort("email")
    log.info("loaded the customers into the warehouse table")
    return frame
