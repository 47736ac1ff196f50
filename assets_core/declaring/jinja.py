"""dbt's Jinja in a SQL asset that does not parse: a dbt user is told what to write instead (the parser would only
report an unexpected '{'). Text inside string literals is no template."""

from __future__ import annotations

import re

_JINJA = re.compile(r"\{\{-?\s*(ref|source)\s*\(([^)]*)\)\s*-?\}\}|\{\{|\{%")
_LITERAL = re.compile(r"'(?:[^']|'')*'")


def jinja_problem(sql: str) -> tuple[int, str] | None:
    """Where ``sql`` holds a Jinja template (as dbt models do), and what to write instead; None when none.

    >>> jinja_problem("select * from {{ ref('orders') }} join {{ source('shop', 'raw_items') }} using (id)")[1]
    "uses dbt's Jinja, which SQL assets do not render: write each upstream's own name as a table (replace \
{{ ref('orders') }} with orders, {{ source('shop', 'raw_items') }} with raw_items)"
    >>> jinja_problem("select 1") is None
    True
    """
    masked = _LITERAL.sub(lambda literal: " " * len(literal.group(0)), sql)  # '{%' in a string is no template
    found = list(_JINJA.finditer(masked))
    if not found:
        return None
    names = [(sql[match.start():match.end()], re.findall(r"['\"]([^'\"]+)['\"]", sql[match.start(2):match.end(2)]))
             for match in found if match.group(1)]
    swaps = [f"{text} with {given[-1]}" for text, given in names if given]
    how = [f"write each upstream's own name as a table (replace {', '.join(swaps)})"] if swaps else []
    if len(swaps) < len(found):
        how.append("remove the other templates (config(), macros, {% ... %}): a subfolder of the SQL folder sets "
                   "the group and a comment at the top the description")
    return found[0].start(), f"uses dbt's Jinja, which SQL assets do not render: {'; '.join(how)}"
