"""The publish gate's suites: one per published mart, derived from what the mart declares.

The gate runs on a snapshot file holding the marts plus three reference tables: the consent
intervals (`consent.intervals`, from the append-only ledger, not from dbt's `dim_consent`, so
the check is independent of the dbt logic it guards), the known users (`gate.known_users`)
and the published values that are landing identifiers (`gate.linked`, weir/mart_gate.py).
What dbt contracts enforce (types, not null, primary keys) is not checked again here.
"""

from dataclasses import dataclass, field
from datetime import datetime

from expectations._suites import FUTURE_SLACK, TOKEN, BatchCheck, Check, Suite, pii_checks

KNOWN_USERS = "gate.known_users"
LINKED = "gate.linked"
SMALL_CLASSES = "gate.small_classes"
SMALL_CELLS = "gate.small_cells"
TOKEN_CATEGORY = "user.unique_id"  # pseudonymous user tokens
COUNT_TYPES = ("bigint", "integer")
VOLUME_DROP = 0.5  # fewer rows than half the last published version blocks
VOLUME_SPIKE = 20.0  # more than 20x is recorded as a warning
VOLUME_MIN_ROWS = 10
ALWAYS = "coalesce(max(1), 1)"  # a batch value that fails `v > 0` on any batch, empty ones too


@dataclass(frozen=True)
class MartSpec:
    """What the gate needs to know about one mart (built from the dbt manifest and contracts)."""

    name: str
    columns: dict[str, tuple[str, str | None]]  # column -> (data type, data category)
    consent: list[tuple[str, str, str | None]] = field(default_factory=list)  # (column, purpose, at column)
    allowed: dict[str, list[str]] = field(default_factory=dict)  # column -> value set from the contracts
    freshness: tuple[str, int] | None = None  # (column, max days behind raw's newest event)
    previous_rows: int | None = None  # rows of the published version
    # Columns holding source record ids (orders, shares, live streams...) as the tokens ingest
    # made of them (column meta `pseudonym: true`); their names stay the source's `<entity>_id`.
    pseudonyms: frozenset[str] = frozenset()
    reference: datetime | None = None  # newest event time in raw
    # What a holder of the source data knows of each row (meta.quasi_identifiers; None: not
    # declared), the columns naming people, and the k every class of them must reach.
    quasi_identifiers: list[str] | None = None
    people: tuple[str, ...] = ()
    k: int = 5
    # The column its published copy binds person tokens to (meta.row_key, weir/row_tokens.py).
    row_key: str | None = None
    people_counts: tuple[str, ...] = ()  # columns counting distinct people (column meta counts_people)


def holds_sql(user: str, purpose: str, at: str) -> str:
    """SQL predicate: consent for `purpose` held for the user in column `user` at time `at`,
    from the consent ledger's intervals. Their columns are renamed inside, so a mart column
    also called `user_token` still refers to the mart's row, not to the interval's."""
    return (
        "exists (select 1 from (select user_token as _user, purpose as _purpose, status as _status, "
        "valid_from as _from, valid_to as _to from consent.intervals) as ci "
        f"where ci._user = {user} and ci._purpose = {purpose} and ci._status = 'granted' "
        f"and ci._from <= {at} and {at} < ci._to)"
    )


def mart_suite(mart: MartSpec) -> Suite:
    suite = Suite(mart.name)
    for name, (data_type, category) in mart.columns.items():
        pseudonym = name in mart.pseudonyms and category != TOKEN_CATEGORY
        suite.checks.extend(_column_checks(name, data_type, category, mart.allowed.get(name), pseudonym))
        if pseudonym:
            suite.checks.append(_tokens_only(name))
        if data_type == "varchar":
            suite.checks.append(_unlinkable(mart.name, name))
    for column, purpose, at in mart.consent:
        # Consent must hold when the processing runs; where the mart also needs it at the
        # time of the action (`at`), both.
        literal = f"'{purpose}'"
        held = holds_sql(column, literal, "now()")
        if at:
            held = f"({held} and {holds_sql(column, literal, at)})"
        suite.checks.append(
            Check(
                f"every {column} consents to {purpose} now{f' and did at {at}' if at else ''}",
                f"{column} is not null and not {held}",
                column,
            )
        )
    suite.batch_checks.extend(_volume(mart) + _freshness(mart) + _k_anonymity(mart) + _small_cells(mart))
    return suite


def _tokens_only(column: str) -> Check:
    return Check(f"{column} holds pseudonymous tokens only", f"not regexp_full_match({column}, '{TOKEN}')", column)


def _unlinkable(mart: str, column: str) -> Check:
    """No value of `column` is a landing identifier (a raw order, share, user... id)."""
    return Check(
        f"{column} holds no landing identifier",
        f"{column} in (select value from {LINKED} where mart = '{mart}' and column_name = '{column}')",
        column,
    )


def _column_checks(
    name: str, data_type: str, category: str | None, allowed: list[str] | None, pseudonym: bool = False
) -> list[Check]:
    checks = []
    # A value set leaves no room for personal data, and a column that must hold tokens only is
    # checked for exactly that (a token's hex digits can look like a card number to the detector).
    if data_type == "varchar" and not allowed and not pseudonym and category != TOKEN_CATEGORY:
        checks += pii_checks(name)
    if data_type == "varchar" and not allowed:
        if category == TOKEN_CATEGORY:
            checks.append(_tokens_only(name))
            checks.append(
                Check(f"{name} refers to a known user", f"{name} not in (select user_token from {KNOWN_USERS})", name)
            )
    if allowed:
        values = ", ".join("'" + v.replace("'", "''") + "'" for v in allowed)
        checks.append(Check(f"{name} in {{{', '.join(allowed)}}}", f"{name} not in ({values})", name))
    if data_type in ("date", "timestamp", "timestamptz"):
        checks.append(
            Check(f"{name} is not in the future", f"cast({name} as timestamptz) > now() + {FUTURE_SLACK}", name)
        )
    if data_type in COUNT_TYPES and category == "derived.aggregate":
        checks.append(Check(f"{name} is not negative", f"{name} < 0", name))
    return checks


def _volume(mart: MartSpec) -> list[BatchCheck]:
    previous = mart.previous_rows
    if not previous or previous < VOLUME_MIN_ROWS:
        return []
    return [
        BatchCheck(
            f"row count at least {VOLUME_DROP:g}x the published version's {previous}",
            "count(*)",
            f"v < {previous * VOLUME_DROP}",
        ),
        BatchCheck(
            f"row count at most {VOLUME_SPIKE:g}x the published version's {previous}",
            "count(*)",
            f"v > {previous * VOLUME_SPIKE}",
            severity="warn",
        ),
    ]


def _k_anonymity(mart: MartSpec) -> list[BatchCheck]:
    """Hold back a mart naming people in a class of fewer than k (weir/mart_gate.py), or naming
    people without saying what an outsider could join its rows on."""
    if not mart.people:
        return []
    if mart.quasi_identifiers is None:
        return [BatchCheck("declares its quasi-identifiers (meta.quasi_identifiers)", ALWAYS, "v > 0")]
    if not mart.quasi_identifiers:
        return []
    unknown = sorted(set(mart.quasi_identifiers) - set(mart.columns))
    if unknown:
        return [
            BatchCheck(f"declares quasi-identifiers among its columns (unknown: {', '.join(unknown)})", ALWAYS, "v > 0")
        ]
    bound = []
    if mart.row_key not in mart.columns:  # one token on several rows: classes can be intersected
        bound = [BatchCheck("binds people's tokens to its rows (meta.row_key, one of its columns)", ALWAYS, "v > 0")]
    return bound + [
        BatchCheck(
            f"every class of ({', '.join(mart.quasi_identifiers)}) names at least {mart.k} people in each of "
            f"({', '.join(mart.people)}) (observed: smaller classes)",
            f"max((select coalesce(sum(classes), 0) from {SMALL_CLASSES} where mart = '{mart.name}'))",
            "v > 0",
        )
    ]


def _small_cells(mart: MartSpec) -> list[BatchCheck]:
    """Hold back an aggregate mart with a cell counting 1 to k-1 people (weir/mart_gate.py)."""
    if not mart.people_counts:
        return []
    return [
        BatchCheck(
            f"every cell counts no one or at least {mart.k} people in each of ({', '.join(mart.people_counts)}) "
            "(observed: smaller cells)",
            f"max((select coalesce(sum(cells), 0) from {SMALL_CELLS} where mart = '{mart.name}'))",
            "v > 0",
        )
    ]


def _freshness(mart: MartSpec) -> list[BatchCheck]:
    if not mart.freshness or not mart.reference:
        return []
    column, days = mart.freshness
    return [
        BatchCheck(
            f"newest {column} at most {days} days behind raw's newest event (observed: days behind)",
            f"({mart.reference.timestamp()} - epoch(max(cast({column} as timestamptz)))) / 86400",
            # A date column ends its day at midnight: one day of slack. An empty mart measures nothing
            # (null) and passes: publish says why it is empty; the volume check catches one emptied.
            f"v > {days + 1}",
            column,
        )
    ]
