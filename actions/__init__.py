"""Custom actions for the shopping assistant (rasa-sdk action server: `-m rasa_sdk --actions actions`).

With SHOPBOT_WARM_ACTIONS=1 the server connects to the database and loads the recommender in a
background thread as it starts, so the first shopper does not wait for it; otherwise that
happens on the first action call. Importing this package alone never opens a connection.
"""

from __future__ import annotations

import logging
import os
import threading


def _warm() -> None:
    from actions.runtime import get_runtime

    try:
        get_runtime()
    except Exception:  # the first action call retries and reports the error to the shopper
        logging.getLogger(__name__).exception("action runtime warm-up failed")


if os.environ.get("SHOPBOT_WARM_ACTIONS") == "1":
    threading.Thread(target=_warm, name="actions-warmup", daemon=True).start()
