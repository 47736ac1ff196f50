"""Regenerate the example's input data: a dirty CRM export, a product database and two reference tables.

    python make_data.py            # writes data/ next to this file
    python make_data.py OUT_DIR    # writes the same files into OUT_DIR

Everything comes from one seeded random generator and no clock, so every run writes byte-identical files.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

SEED = 20240630
CRM_PEOPLE, CRM_DUPLICATES = 300, 25
APP_FROM_CRM, APP_ONLY, APP_WITHOUT_EMAIL, APP_REREGISTERED = 220, 40, 4, 6
ORDERS = 450
FIRST_DAY, LAST_DAY = date(2021, 1, 1), date(2024, 6, 30)

COUNTRIES = [  # ISO code, English name, international dial code
    ("AT", "Austria", "43"),
    ("CA", "Canada", "1"),
    ("CH", "Switzerland", "41"),
    ("DE", "Germany", "49"),
    ("FR", "France", "33"),
    ("GB", "United Kingdom", "44"),
    ("NL", "Netherlands", "31"),
    ("US", "United States", "1"),
]
NO_TRUNK_ZERO = {"US", "CA"}  # national numbers without a leading 0
POSTAL_CODES = [  # country, postal code, city, region
    ("AT", "1010", "Vienna", "Vienna"), ("AT", "8010", "Graz", "Styria"),
    ("CA", "M5V 2T6", "Toronto", "Ontario"), ("CA", "H2Y 1C6", "Montreal", "Quebec"),
    ("CH", "8001", "Zurich", "Zurich"), ("CH", "1201", "Geneva", "Geneva"),
    ("DE", "10115", "Berlin", "Berlin"), ("DE", "80331", "Munich", "Bavaria"),
    ("DE", "20095", "Hamburg", "Hamburg"), ("DE", "01067", "Dresden", "Saxony"),
    ("FR", "75001", "Paris", "Ile-de-France"), ("FR", "69001", "Lyon", "Auvergne-Rhone-Alpes"),
    ("GB", "SW1A 1AA", "London", "England"), ("GB", "M1 1AE", "Manchester", "England"),
    ("GB", "EH1 1YZ", "Edinburgh", "Scotland"),
    ("NL", "1011 AB", "Amsterdam", "North Holland"), ("NL", "3011 AA", "Rotterdam", "South Holland"),
    ("US", "10001", "New York", "New York"), ("US", "94105", "San Francisco", "California"),
    ("US", "02108", "Boston", "Massachusetts"),
]
UNLISTED_POSTAL_CODES = {"AT": "5020", "CA": "V6B 1A1", "CH": "3011", "DE": "50667", "FR": "31000",
                         "GB": "B1 1AA", "NL": "9711 AA", "US": "60601"}
UNKNOWN_COUNTRIES = ["Atlantis", "N/A", "Europe"]
FIRST_NAMES = ["Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Klara",
               "Liam", "Mia", "Noah", "Olivia", "Paul", "Rosa", "Sam", "Tara", "Ugo", "Vera", "Will", "Yara", "Zoe"]
LAST_NAMES = ["Bauer", "Clark", "Dubois", "Evans", "Fischer", "Garcia", "Huber", "Jansen", "Keller", "Lambert",
              "Martin", "Novak", "Olsen", "Peters", "Roux", "Smith", "Taylor", "Visser", "Weber", "Young"]
DOMAINS = ["example.com", "example.org", "example.net"]

User = tuple[int, str | None, str, str, str]  # user_id, email, display_name, country, created_at
Order = tuple[int, int, int, str, str]  # order_id, user_id, amount_cents, status, ordered_at


@dataclass(frozen=True)
class Person:
    """One real customer, before any system has garbled their data."""

    name: str
    email: str
    country: str
    postal_code: str
    area: str
    number: str
    signup: date


def main(out: Path) -> None:
    rng = random.Random(SEED)
    out.mkdir(parents=True, exist_ok=True)
    people = [make_person(rng, i) for i in range(CRM_PEOPLE + APP_ONLY)]
    write_csv(out / "countries.csv", ["code", "name", "dial_code"], COUNTRIES)
    write_csv(out / "postal_codes.csv", ["country_code", "postal_code", "city", "region"], POSTAL_CODES)
    write_csv(out / "crm_customers.csv", ["Customer ID", "Full Name", "E-mail", "Phone", "Country",
                                          "Postal Code", "Created"], crm_rows(rng, people[:CRM_PEOPLE]))
    users = app_users(rng, people)
    write_database(out / "product.db", users, orders(rng, users))


def make_person(rng: random.Random, index: int) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country = rng.choice(COUNTRIES)[0]
    listed = [code for c, code, _, _ in POSTAL_CODES if c == country]
    postal = UNLISTED_POSTAL_CODES[country] if rng.random() < 0.1 else rng.choice(listed)
    if country in NO_TRUNK_ZERO:
        area, number = str(rng.randint(201, 989)), f"555{rng.randint(0, 9999):04d}"
    else:
        area, number = str(rng.randint(10, 899)), str(rng.randint(100_000, 99_999_999))
    email = f"{first}.{last}{index}@{rng.choice(DOMAINS)}".lower()
    signup = FIRST_DAY + timedelta(days=rng.randint(0, 1000))
    return Person(f"{first} {last}", email, country, postal, area, number, signup)


def crm_rows(rng: random.Random, people: list[Person]) -> list[list[str]]:
    """The CRM export: one row per person, some people twice, every field in a format someone typed."""
    rows = [crm_row(rng, person) for person in people]
    for _ in range(CRM_DUPLICATES):
        original = rng.randrange(len(people))
        rows.insert(rng.randint(original + 1, len(rows)), crm_row(rng, people[original]))
    return [[str(1001 + i), *row] for i, row in enumerate(rows)]


def crm_row(rng: random.Random, person: Person) -> list[str]:
    name = person.name.replace(" ", "  ") if rng.random() < 0.1 else person.name
    code = person.postal_code
    postal = rng.choice([code, code, code.lower(), f" {code} "])
    phone = "" if rng.random() < 0.05 else rng.choice(phone_formats(person))
    created = "" if rng.random() < 0.03 else person.signup.strftime(rng.choice(["%Y-%m-%d", "%d/%m/%Y"]))
    return [name, crm_email(rng, person.email), phone, crm_country(rng, person.country), postal, created]


def crm_email(rng: random.Random, email: str) -> str:
    roll = rng.random()
    if roll < 0.03:
        return ""
    if roll < 0.05:
        return rng.choice([email.replace("@", "(at)"), email.replace(".", " ", 1)])
    return dirty_email(rng, email)


def dirty_email(rng: random.Random, email: str) -> str:
    return rng.choice([email, email, email.upper(), f" {email.title()}", f"{email}  "])


def crm_country(rng: random.Random, code: str) -> str:
    roll = rng.random()
    if roll < 0.02:
        return ""
    if roll < 0.04:
        return rng.choice(UNKNOWN_COUNTRIES)
    name = next(n for c, n, _ in COUNTRIES if c == code)
    return rng.choice([code, code.lower(), name, name.upper(), f" {name.lower()}"])


def phone_formats(person: Person) -> list[str]:
    """The ways people write the same number: international, with 00, and national."""
    dial = next(d for c, _, d in COUNTRIES if c == person.country)
    area, number = person.area, person.number
    if person.country in NO_TRUNK_ZERO:
        national = [f"({area}) {number[:3]}-{number[3:]}", f"{area}.{number[:3]}.{number[3:]}"]
    else:
        national = [f"0{area} {number}", f"(0{area}) {number[:3]}-{number[3:]}"]
    return [f"+{dial} {area} {number}", f"00{dial} {area} {number}", f"+{dial}-{area}-{number}", *national]


def app_users(rng: random.Random, people: list[Person]) -> list[User]:
    """Product users: most are CRM customers, some are not; a few have no email, a few signed up twice."""
    chosen = rng.sample(people[:CRM_PEOPLE], APP_FROM_CRM) + people[CRM_PEOPLE:]
    chosen.sort(key=lambda p: (p.signup, p.email))
    without_email = set(rng.sample(range(len(chosen)), APP_WITHOUT_EMAIL))
    rows = [[None if i in without_email else dirty_email(rng, p.email), p.name, app_country(rng, p.country),
             app_timestamp(rng, p.signup)] for i, p in enumerate(chosen)]
    for _ in range(APP_REREGISTERED):
        person = rng.choice(chosen)
        rows.append([dirty_email(rng, person.email), person.name, person.country,
                     app_timestamp(rng, person.signup + timedelta(days=120))])
    return [(1 + i, *row) for i, row in enumerate(rows)]


def app_country(rng: random.Random, code: str) -> str:
    name = next(n for c, n, _ in COUNTRIES if c == code)
    return rng.choice([code, code, code, code.lower(), name])


def app_timestamp(rng: random.Random, day: date) -> str:
    moment = datetime.combine(day, time()) + timedelta(days=rng.randint(0, 60), seconds=rng.randint(0, 86_399))
    return moment.isoformat(sep=" ")


def orders(rng: random.Random, users: list[User]) -> list[Order]:
    """Orders by users with an email, after they signed up; a few heavy buyers, some refunds and cancellations."""
    buyers = [(user_id, created_at) for user_id, email, _, _, created_at in users if email is not None]
    weights = [rng.random() ** 3 for _ in buyers]
    end = datetime.combine(LAST_DAY, time(23, 59))
    rows = []
    for user_id, created_at in rng.choices(buyers, weights, k=ORDERS):
        start = datetime.fromisoformat(created_at)
        moment = (start + (end - start) * rng.random()).replace(microsecond=0)
        status = rng.choices(["paid", "refunded", "cancelled"], [85, 10, 5])[0]
        rows.append((user_id, rng.randrange(500, 25_000, 5), status, moment.isoformat(sep=" ")))
    rows.sort(key=lambda row: (row[3], row[0]))
    return [(1 + i, *row) for i, row in enumerate(rows)]


def write_csv(path: Path, header: list[str], rows: list[list[str]] | list[tuple[str, ...]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_database(path: Path, users: list[User], order_rows: list[Order]) -> None:
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.executescript("""
            CREATE TABLE users (user_id INTEGER PRIMARY KEY, email TEXT, display_name TEXT, country TEXT,
                                created_at TEXT NOT NULL);
            CREATE TABLE orders (order_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users,
                                 amount_cents INTEGER NOT NULL, status TEXT NOT NULL, ordered_at TEXT NOT NULL);
        """)
        connection.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?)", users)
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", order_rows)
        connection.commit()
    finally:
        connection.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data")
