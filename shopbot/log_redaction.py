"""A logging filter that masks personal data (phones, ID numbers, addresses) in every record.

Rasa logs user messages at debug level and in exceptions; attaching this filter to the handlers
keeps what shoppers type out of log files whatever the level.
"""

from __future__ import annotations

import logging

from shopbot.db.privacy import redact


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logged as is
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
