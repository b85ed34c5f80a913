"""Key rotation's part for data-subject requests: called by weir.ingest._rotate inside the
rotation's transaction, over its `_rotation(old_token, new_token)` map.

The suppression list must recognise an erased user under the new key too: rotation rebuilds
the map from the landing batches, which still hold the erased user's raw id (landing is
write-once), so their new token is known here and its hash is added. The old hash stays (a
batch could be replayed before rotation finishes elsewhere; it costs nothing). Open requests
and source request ids move to their new tokens, so a re-import does not see them as new.
"""

import duckdb

from weir.warehouse import tables


def retoken_requests(con: duckdb.DuckDBPyConnection) -> None:
    if "suppressed" not in tables(con, "dsr"):
        return
    con.execute(
        "insert or ignore into dsr.suppressed select sha256(r.new_token), "
        "cast(regexp_extract(r.new_token, '^tk(\\d+)_', 1) as integer), s.request_id, now() "
        "from _rotation r join dsr.suppressed s on s.token_hash = sha256(r.old_token)"
    )
    con.execute("update dsr.requests t set user_token = r.new_token from _rotation r where t.user_token = r.old_token")
    con.execute(
        "update dsr.requests t set subject_hash = sha256(r.new_token) from _rotation r "
        "where t.subject_hash = sha256(r.old_token)"
    )
    for table in ("steps", "requests"):
        con.execute(
            f"update dsr.{table} t set request_id = r.new_token from _rotation r where t.request_id = r.old_token"
        )
