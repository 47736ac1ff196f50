"""What the catalog says when its database fails: one wording for every path that reaches the database."""

from __future__ import annotations

import re

BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's transaction before giving up
HOW_TO_MOVE = "move the file away, or point --catalog / ASSETS_CATALOG at another file"


def explain(text: str, where: str) -> str:
    """A message for a database error (the driver's text): what failed, on which catalog, and what to do."""
    lowered = text.lower()
    if "database is locked" in lowered or "database table is locked" in lowered:
        return (
            f"the catalog {where} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s; "
            "wait for the other assets command to finish, or stop it, then try again"
        )
    if "unable to open database file" in lowered:
        return (
            f"cannot open the catalog {where}: its folder is missing or not writable; "
            "point --catalog / ASSETS_CATALOG at a writable location"
        )
    if "file is not a database" in lowered or "file is encrypted" in lowered:
        return f"{where} is not a SQLite database, so it cannot be the catalog; {HOW_TO_MOVE}"
    if "readonly database" in lowered or "read-only" in lowered:
        return (
            f"the catalog {where} is read-only; make the file and its folder writable, "
            "or point --catalog / ASSETS_CATALOG at a writable location"
        )
    if "disk i/o error" in lowered or "disk is full" in lowered:
        return (
            f"the disk failed while using the catalog {where} ({text}); check free space and that the "
            "file is on a local disk (SQLite's WAL mode does not work on network file systems)"
        )
    server = _explain_server(" ".join(text.split()), lowered, where)  # a server's text may span lines
    if server is not None:
        return server
    if "malformed" in lowered or "corrupt" in lowered:
        return f"the catalog {where} is damaged ({text}); {HOW_TO_MOVE} and run again to start a new one"
    return f"the catalog {where} failed: {text}"


def _explain_server(text: str, lowered: str, where: str) -> str | None:
    """A message for a database server (PostgreSQL) that refuses the connection, or None for other errors."""
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return (
            f"the catalog {where} refused the login ({text}); fix the user and password in the URL "
            "(postgresql+psycopg://user:password@host/db), or give the password in PGPASSWORD or ~/.pgpass"
        )
    if "does not exist" in lowered and ("fatal:  database" in lowered or "fatal: database" in lowered):
        return (
            f"the catalog {where} names a database the server lacks ({text}); create the database "
            "(createdb NAME, or CREATE DATABASE), or fix its name in --catalog / ASSETS_CATALOG"
        )
    if "does not exist" in lowered and "role" in lowered:
        return (
            f"the catalog {where} names a user the server lacks ({text}); fix the user in the URL, "
            "or create the role on the server (CREATE ROLE ... LOGIN)"
        )
    if "permission denied for" in lowered or "must be owner of" in lowered:
        user = re.search(r"://([^:@/]+)[:@]", where)
        return (
            f"the catalog {where} refused the request: its user lacks the rights it needs ({text}); have the "
            f"database's owner grant them (GRANT ALL ON SCHEMA public TO {user.group(1) if user else 'USER'}, then "
            "the same ON ALL TABLES IN SCHEMA public and ON ALL SEQUENCES IN SCHEMA public), or use the role that "
            "made the catalog"
        )
    if any(sign in lowered for sign in ("connection refused", "could not connect", "failed to resolve host",
                                        "server closed the connection", "timeout expired", "no route to host",
                                        "connection timed out", "terminating connection")):
        return (
            f"cannot reach the catalog's server {where} ({text}); start the PostgreSQL server (or wait for it "
            "to come back), or fix the host and port in --catalog / ASSETS_CATALOG"
        )
    return None
