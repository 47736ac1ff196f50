"""Clean: one format per field, and every row that cannot be used named with the rule that rejects it.

Rejected rows stay in the table (with ``rejected_by`` set) so that the report can count them and anyone can
look at them; downstream assets read only the kept rows.
"""

import logging

import polars as pl

from assets_core import Output, asset
from pipeline import rules

log = logging.getLogger(__name__)


@asset(group="clean", tags=["pii"], owners=["data-team"])
def crm_customers_clean(crm_customers: pl.DataFrame, countries: pl.DataFrame) -> Output:
    """CRM customers with normalized emails, phones, dates, countries and postal codes; bad rows flagged."""
    frame = crm_customers.with_columns(
        name=rules.text("name"),
        email=rules.email("email"),
        country_code=rules.country_code("country", countries),
        postal_code=rules.postal_code("postal_code"),
        signup_date=rules.signup_date("signup_date"),
    )
    frame = frame.with_columns(phone=rules.phone("phone", countries))  # reads the country_code made above
    return with_counts(rules.reject(frame), "CRM")


@asset(group="clean", tags=["pii"], owners=["data-team"])
def app_users_clean(app_users: pl.DataFrame, countries: pl.DataFrame) -> Output:
    """Product users with normalized emails, countries and signup dates; bad rows flagged."""
    frame = app_users.with_columns(
        name=rules.text("name"),
        email=rules.email("email"),
        country_code=rules.country_code("country", countries),
        signup_date=rules.signup_date("created_at"),
    )
    return with_counts(rules.reject(frame), "product")


def with_counts(frame: pl.DataFrame, system: str) -> Output:
    """The cleaned rows, with how many each rule rejected as metadata (and in the log)."""
    counts = rules.rejection_counts(frame)
    kept = frame.height - sum(counts.values())
    log.info("%s: kept %d of %d rows; rejected by %s", system, kept, frame.height,
             ", ".join(f"{rule}: {count}" for rule, count in counts.items()))
    return Output(frame, metadata={"kept": kept, "rejected": sum(counts.values()), **counts})
