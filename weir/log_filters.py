"""Log filters for Weir's processes: keep task logs to what a data engineer reads.

Great Expectations logs one INFO line per public function it registers on import ("Skipping
registering function ...": about 214 of 220 lines of a gate task's log) and one per optional
field its expectations do not set ("_get_default_value called with key ..."). They say
nothing about the data or the run, so they are dropped at their loggers.
"""

import logging

NOISE = {
    "great_expectations._docs_decorators": ("Skipping registering function",),
    "great_expectations.expectations.expectation": ("_get_default_value called with key",),
}


class DropNoise(logging.Filter):
    """Drops records whose message template starts with one of `prefixes`."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def install_log_filters() -> None:
    """Attach the filters to GX's loggers once (idempotent)."""
    for name, prefixes in NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropNoise) for f in logger.filters):
            logger.addFilter(DropNoise(prefixes))
