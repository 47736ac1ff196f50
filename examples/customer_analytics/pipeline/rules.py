"""Cleaning rules: expressions that put each field into one format, and the rules that reject a row.

The CRM and the product are cleaned by the same rules, so their customers can be joined by email.

>>> frame = pl.DataFrame({"email": [" Ann@X.org", "ann@x.org", None, "bob(at)x.org"], "country_code": "DE"})
>>> reject(frame.with_columns(email=email("email")))["rejected_by"].to_list()
[None, 'duplicate_email', 'missing_email', 'invalid_email']
"""

import polars as pl

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")  # ISO, and the European day-first form the CRM also holds
REJECTION_RULES = ("missing_email", "invalid_email", "unknown_country", "duplicate_email")


def text(column: str) -> pl.Expr:
    """Text without outer or repeated spaces; a blank becomes null."""
    cleaned = pl.col(column).str.strip_chars().str.replace_all(r"\s+", " ")
    return pl.when(cleaned != "").then(cleaned)


def email(column: str) -> pl.Expr:
    """An email address trimmed and in lower case (the key customers are matched by)."""
    return text(column).str.to_lowercase()


def postal_code(column: str) -> pl.Expr:
    """A postal code trimmed and in upper case, as the reference table writes it."""
    return text(column).str.to_uppercase()


def signup_date(column: str) -> pl.Expr:
    """A date written in either of the DATE_FORMATS; null when it is in neither."""
    value = text(column).str.slice(0, 10)
    return pl.coalesce([value.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS])


def country_code(column: str, countries: pl.DataFrame) -> pl.Expr:
    """The ISO code of a country written as a code or as its English name, in any case; else null."""
    names = dict(zip(countries["name"].str.to_lowercase(), countries["code"]))
    codes = dict(zip(countries["code"].str.to_lowercase(), countries["code"]))
    return text(column).str.to_lowercase().replace_strict(names | codes, default=None)


def phone(column: str, countries: pl.DataFrame) -> pl.Expr:
    """A phone number in international form (+4930123456), read from international or national notation.

    National numbers take the dial code of the row's ``country_code`` and lose their trunk prefix 0.
    """
    digits = text(column).str.replace_all(r"[^0-9+]", "")
    dial_codes = dict(zip(countries["code"], countries["dial_code"].cast(pl.String)))
    dial_code = pl.col("country_code").replace_strict(dial_codes, default=None)
    return (pl.when(digits.str.starts_with("+")).then(digits)
            .when(digits.str.starts_with("00")).then("+" + digits.str.slice(2))
            .when(digits != "").then("+" + dial_code + digits.str.replace(r"^0", "")))


def reject(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``rejected_by``: the first of the REJECTION_RULES a row breaks, null for a row that is kept.

    Needs the columns ``email`` and ``country_code`` already cleaned. Of rows with the same email, the first
    one that no other rule rejects is kept and the later ones are duplicates.
    """
    flagged = frame.with_columns(
        rejected_by=pl.when(pl.col("email").is_null()).then(pl.lit("missing_email"))
        .when(~pl.col("email").str.contains(EMAIL_PATTERN)).then(pl.lit("invalid_email"))
        .when(pl.col("country_code").is_null()).then(pl.lit("unknown_country")))
    kept = pl.col("rejected_by").is_null()
    later = ~pl.col("email").is_first_distinct().over(kept)  # first among the kept rows only
    return flagged.with_columns(
        rejected_by=pl.when(kept & later).then(pl.lit("duplicate_email")).otherwise("rejected_by"))


def rejection_counts(frame: pl.DataFrame) -> dict[str, int]:
    """How many rows each rule rejected (every rule listed, zero included)."""
    counts = dict(frame["rejected_by"].drop_nulls().value_counts().iter_rows())
    return {rule: counts.get(rule, 0) for rule in REJECTION_RULES}


def kept(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows no rule rejected, without the ``rejected_by`` column."""
    return frame.filter(pl.col("rejected_by").is_null()).drop("rejected_by")
