"""Erasure reaches rows published with row-bound pseudonyms (weir/row_tokens.py): they hold no
token of the user to match, so the published step recomputes them with the publish salt."""

import json

import duckdb

from privacy._keyring import publish_salt
from tests.dsr.conftest import people
from tests.dsr.test_erasure import erase
from weir import dsr, row_tokens
from weir.config import DataDir
from weir.publish import published_db


def test_an_erased_buyer_loses_every_published_row_bound_to_them(copy_dir: DataDir) -> None:
    # Prepare: the buyer with the most published orders (with a phone and an e-mail to erase).
    everyone = {p.token(copy_dir): p for p in people(copy_dir).values() if p.phone and p.email}
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        ranked = con.execute(
            "select user_token, count(*) from marts.mart_referral_attribution group by 1 order by 2 desc, 1"
        ).fetchall()
    user_token, orders = next((t, n) for t, n in ranked if t in everyone)
    salt = publish_salt(copy_dir.keys)
    with duckdb.connect(str(published_db(copy_dir)), read_only=True) as con:
        before = con.execute("select count(*) from mart_referral_attribution").fetchone()[0]
        found = row_tokens.traces(con, "published", salt, [user_token])

    # Execute
    request_id = erase(copy_dir, everyone[user_token])

    # Assert: their rows are gone (found before, by the salt only), the others stay, and the
    # erasure's figures and verification say so.
    assert found == {"main.mart_referral_attribution": orders}
    with duckdb.connect(str(published_db(copy_dir)), read_only=True) as con:
        assert con.execute("select count(*) from mart_referral_attribution").fetchone()[0] == before - orders
        assert row_tokens.traces(con, "published", salt, [user_token]) == {}
    request, steps = dsr.show_request(copy_dir, request_id)
    assert (request.status, request.reason) == ("completed", None)
    published = next(s for s in steps if s.system == "published")
    assert json.loads(published.detail)["tables"]["main.mart_referral_attribution"] == {"deleted": orders, "blanked": 0}
