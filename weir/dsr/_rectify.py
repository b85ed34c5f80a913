"""Rectification: replace a held value with the one the user supplied, and what derives from it.

Contact fields live in the vault (re-encrypted under the user's data key) with their tokens in
`raw.users` (recomputed under the current key); city and birth date are held only as their
generalisations (region, age band), which are recomputed from the new value. The name is
dropped from rows and kept only in the vault (to redact it from free text): a rectified name
replaces every name held for the user.
"""

from datetime import date

import duckdb

from privacy import _vault
from privacy._generalise import age_band_sql, region_sql
from privacy._keyring import SecretKey
from privacy._names import NAME_FIELD
from privacy._pseudonymise import key_params, token_sql

VAULT_KINDS = {"phone": ("phone", "phone_token"), "email": ("email", "email_token")}
GENERALISED = {"city": "region", "birth_date": "age_band"}
FIELDS = (*VAULT_KINDS, NAME_FIELD, *GENERALISED)


def refusal(con: duckdb.DuckDBPyConnection, master: SecretKey, user_token: str, field: str) -> str | None:
    """Why this field cannot be rectified for this user, or None when it can."""
    if field not in FIELDS:
        return f"field {field!r} is not held about users; rectifiable fields: {', '.join(FIELDS)}"
    if field in (*VAULT_KINDS, NAME_FIELD):
        try:
            _vault.read(con, master, user_token, field)
        except _vault.VaultError:
            return f"field {field!r} is not held for this user (no {field} in the vault)"
    return None


def check_value(field: str, value: str) -> str | None:
    """Why a new value is unusable, or None (validated at submit: nothing stored if bad)."""
    if not value.strip():
        return f"--value for {field} is empty; pass the corrected value."
    if field == "birth_date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "--value for birth_date must be a date as YYYY-MM-DD."
    return None


def apply(
    con: duckdb.DuckDBPyConnection, hmac_key: SecretKey, master: SecretKey, user_token: str, field: str, value: str
) -> dict:
    """Replace the value; returns which columns changed (names, never values)."""
    if field in VAULT_KINDS:
        kind, column = VAULT_KINDS[field]
        _vault.store(con, master, [(user_token, field, value)])
        new_token = con.execute(f"select {token_sql('$value', kind)}", {**key_params(hmac_key), "value": value})
        con.execute(f"update raw.users set {column} = ? where user_token = ?", [new_token.fetchone()[0], user_token])
        return {"vault": field, "raw.users": column}
    if field == NAME_FIELD:  # no token of it anywhere: the vault entry is all there is
        _vault.store(con, master, [(user_token, field, value.strip())])
        return {"vault": field}
    column = GENERALISED[field]
    expr = region_sql("$value") if field == "city" else age_band_sql("cast($value as date)", "current_date")
    con.execute(
        f"update raw.users set {column} = {expr} where user_token = $user", {"value": value, "user": user_token}
    )
    return {"raw.users": column}
