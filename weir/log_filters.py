"""Log filters for Weir's processes: keep task logs to what a data engineer reads.

Great Expectations logs one INFO line per public function it registers on import ("Skipping
registering function ..."): about 214 of 220 lines of a gate task's log. They say nothing
about the data or the run, so they are dropped at their logger.
"""

import logging

GX_DOCS_LOGGER = "great_expectations._docs_decorators"
NOISE = ("Skipping registering function",)


class DropNoise(logging.Filter):
    """Drops records whose message template starts with one of `NOISE`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(NOISE)


def install_log_filters() -> None:
    """Attach the filter to GX's registration logger once (idempotent)."""
    logger = logging.getLogger(GX_DOCS_LOGGER)
    if not any(isinstance(f, DropNoise) for f in logger.filters):
        logger.addFilter(DropNoise())
