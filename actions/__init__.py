"""Custom actions for the shopping assistant (rasa-sdk action server: `-m rasa_sdk --actions actions`).

With SHOPBOT_WARM_ACTIONS=1 the server connects to the database, loads the recommender and builds
the attribute matcher (about ten seconds of spaCy and jieba) in a background thread as it starts,
so the first shopper does not wait for them, and then keeps what it loaded out of later garbage
collections (shopbot.heap); otherwise that happens on the first action call.
Importing this package alone never opens a connection.
"""

from __future__ import annotations

import logging
import os
import threading


def _warm() -> None:
    from actions.attributes import attribute_matcher
    from actions.runtime import get_runtime

    try:
        # The attribute matcher (spaCy + jieba dictionaries) takes seconds to build: built on the
        # first product question, it made that turn outlive the turn timeout.
        attribute_matcher(get_runtime().lexicon)
    except Exception:  # the first action call retries and reports the error to the shopper
        logging.getLogger(__name__).exception("action runtime warm-up failed")
        return
    from shopbot.heap import freeze_startup_heap

    # The catalogue, recommender, lexicon and spaCy live as long as the process.
    freeze_startup_heap("actions")


if os.environ.get("SHOPBOT_WARM_ACTIONS") == "1":
    threading.Thread(target=_warm, name="actions-warmup", daemon=True).start()
