"""Sources: the files this pipeline reads but does not make. A change to one makes its downstream stale."""

from assets_core import source_asset

crm_export = source_asset(
    "crm_export", "data/crm_customers.csv", group="sources", owners=["crm-team"], tags={"system": "crm"},
    description="The nightly CSV export of the CRM, as typed in by sales: mixed formats, duplicates, gaps.")

product_db = source_asset(
    "product_db", "data/product.db", group="sources", owners=["product-team"], tags={"system": "product"},
    description="A SQLite copy of the product database, with the tables users and orders.")

countries = source_asset(
    "countries", "data/countries.csv", group="sources", tags={"system": "reference"},
    description="Reference table: ISO country code, English name and international dial code.")

postal_codes = source_asset(
    "postal_codes", "data/postal_codes.csv", group="sources", tags={"system": "reference"},
    description="Reference table: city and region of each (country code, postal code).")
