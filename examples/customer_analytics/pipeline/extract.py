"""Extract: each system's rows under plain column names, with every value still as the system wrote it."""

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl

from assets_core import asset

log = logging.getLogger(__name__)

CRM_COLUMNS = {"Customer ID": "crm_id", "Full Name": "name", "E-mail": "email", "Phone": "phone",
               "Country": "country", "Postal Code": "postal_code", "Created": "signup_date"}


@asset(group="extract", tags={"system": "crm"}, owners=["crm-team"])
def crm_customers(crm_export: pl.DataFrame) -> pl.DataFrame:
    """Customers from the CRM export, renamed to snake_case; every field but the id kept as text."""
    frame = crm_export.rename(CRM_COLUMNS).select(CRM_COLUMNS.values())
    frame = frame.with_columns(pl.exclude("crm_id").cast(pl.String))
    log.info("read %d rows from the CRM export", frame.height)
    return frame


@asset(group="extract", tags={"system": "product"}, owners=["product-team"])
def app_users(product_db: Path) -> pl.DataFrame:
    """Users of the product, from the users table of the product database."""
    frame = query(product_db, "SELECT user_id, display_name AS name, email, country, created_at FROM users")
    log.info("read %d users from %s", frame.height, product_db.name)
    return frame


@asset(group="extract", tags={"system": "product"}, owners=["product-team"])
def orders(product_db: Path) -> pl.DataFrame:
    """Every order, with the email of the account that placed it."""
    frame = query(product_db, """
        SELECT o.order_id, u.email, o.amount_cents, o.status, o.ordered_at
        FROM orders AS o JOIN users AS u USING (user_id)
        ORDER BY o.order_id""")
    log.info("read %d orders from %s", frame.height, product_db.name)
    return frame


def query(database: Path, sql: str) -> pl.DataFrame:
    """Run one query on a SQLite file opened read-only, so that reading it never changes the source."""
    with closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) as connection:
        return pl.read_database(sql, connection)
