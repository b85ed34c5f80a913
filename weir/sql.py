"""The one way outside strings reach SQL text: identifiers quoted here, everything else bound.

Column names come from mappings, CSV headers and Parquet schemas, all of them hostile. DuckDB
quotes an identifier by doubling `"`; that is complete for printable text, so the helper only
has to refuse what quoting cannot make harmless or readable: empty names, control characters
(NUL ends a C string inside DuckDB), and names too long to be a column.

>>> ident('user_id')
'"user_id"'
>>> ident('a"b')
'"a""b"'
>>> qualified('raw', 'events')
'"raw"."events"'
"""

import unicodedata

from weir.errors import UnsafeSqlInput

MAX_IDENTIFIER = 255  # longer than any real export column; bounds what a header can inject


def ident(name: str) -> str:
    """Quote one identifier for SQL text, or raise UnsafeSqlInput.

    The errors never echo the name: a hostile header may be a secret's bytes (an export that
    was a link to a key). They say its length and where the bad characters are.
    """
    if not isinstance(name, str) or not name:
        raise UnsafeSqlInput("Empty or non-text SQL identifier; name the column.")
    if len(name) > MAX_IDENTIFIER:
        raise UnsafeSqlInput(
            f"SQL identifier of {len(name)} characters is longer than {MAX_IDENTIFIER}; rename the column."
        )
    bad = [i for i, c in enumerate(name) if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")]
    if bad:
        where = ", ".join(str(i + 1) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
        raise UnsafeSqlInput(
            f"SQL identifier of {len(name)} characters holds control or unassigned character(s) "
            f"at position(s) {where}; rename the column."
        )
    return '"' + name.replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    """Quote a dotted name (schema.table, table.column) part by part."""
    return ".".join(ident(p) for p in parts)


class Params:
    """Named parameters collected while SQL text is built: values are bound, never pasted.

    >>> p = Params("m")
    >>> p.bind("it's"), p.values
    ('$m0', {'m0': "it's"})
    """

    def __init__(self, prefix: str = "p") -> None:
        self.prefix = prefix
        self.values: dict[str, object] = {}

    def bind(self, value: object) -> str:
        """A `$name` placeholder for `value`, to be passed with the statement."""
        name = f"{self.prefix}{len(self.values)}"
        self.values[name] = value
        return "$" + name
