"""Log filters for Weir's processes: keep task logs to what a data engineer reads.

Great Expectations logs one INFO line per public function it registers on import ("Skipping
registering function ...": about 214 of 220 lines of a gate task's log) and one per optional
field its expectations do not set ("_get_default_value called with key ..."); each datasource
a gate adds rewrites its config file and logs it, with two lines per datasource in the file
(~1,600 lines over a daily run's tasks). fontTools logs each table it prunes from the report's
PDF fonts. They say nothing about the data or the run, so they are dropped at their loggers.
"""

import logging

NOISE = {
    "great_expectations._docs_decorators": ("Skipping registering function",),
    "great_expectations.expectations.expectation": ("_get_default_value called with key",),
    "great_expectations.datasource.fluent.fluent_base_model": (".dict() - missing `config_provider`",),
    "great_expectations.data_context.data_context.file_data_context": ("Fluent Datasources to", "loading fluent"),
    "great_expectations.datasource.fluent.data_connector.batch_filter": ("batch_slice: ",),
}
QUIET = ("fontTools.subset",)  # only warnings and errors


class DropNoise(logging.Filter):
    """Drops records whose message (template) contains one of `parts`."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        super().__init__()
        self.parts = parts

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not any(part in message for part in self.parts)


def install_log_filters() -> None:
    """Attach the filters to their loggers once (idempotent)."""
    for name, parts in NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropNoise) for f in logger.filters):
            logger.addFilter(DropNoise(parts))
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
