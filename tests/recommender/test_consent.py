"""Demographics are used only with consent.

The purchase model (ranker) takes no demographic feature at all; the profile reaches
recommendations only through the segment signal (what consenting shoppers of the same age band
and gender buy), and only for a consenting shopper. A profile stored without consent (consent
withdrawn, or rows written around repo.ensure_shopper) must change nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import sessionmaker

from recommender.ranker import FEATURES
from recommender.service import RecommenderService
from shopbot.db import repo
from shopbot.db.engine import session_scope
from shopbot.db.models import Shopper
from tests.recommender.test_service import factory  # noqa: F401 - the small shop fixture

PROFILES = ({"age_band": "25-34", "gender": "f"}, {"age_band": "55+", "gender": "m"})
ITEMS = [f"p{n}" for n in range(36)]


@pytest.fixture
def shop(factory: sessionmaker) -> sessionmaker:  # noqa: F811
    """Two segments that buy different things, and a shopper with a little history."""
    with session_scope(factory) as s:
        for n in range(3):
            repo.ensure_shopper(s, f"young{n}", consent=True, **PROFILES[0])
            repo.place_order(s, f"young{n}", [("p24", 1)])
            repo.ensure_shopper(s, f"old{n}", consent=True, **PROFILES[1])
            repo.place_order(s, f"old{n}", [("p4", 1)])
        repo.ensure_shopper(s, "me", consent=False)
        repo.record_event(s, "me", "view", product_id="p13")
    return factory


def set_profile(db: sessionmaker, consent: bool, profile: dict[str, str | None]) -> None:
    """Write the row directly, as a withdrawn consent or a bulk import could leave it."""
    with session_scope(db) as s:
        shopper = s.get(Shopper, "me")
        shopper.consent = consent
        for field, value in profile.items():
            setattr(shopper, field, value)


def answers(db: sessionmaker) -> tuple[list[tuple[str, str]], np.ndarray]:
    svc = RecommenderService(db)
    recs = [(r.item_id, r.source) for r in svc.recommend("me", 10).items]
    probs = svc.purchase_probability("me", ITEMS)
    return recs, np.asarray([probs[i] for i in ITEMS])


def test_the_purchase_model_has_no_demographic_feature() -> None:
    demographic = {"age", "gender", "region", "occupation", "segment"}
    assert not [f for f in FEATURES if any(d in f for d in demographic)]


def test_without_consent_the_profile_changes_nothing(shop: sessionmaker) -> None:
    set_profile(shop, False, {"age_band": None, "gender": None})
    baseline = answers(shop)
    for profile in PROFILES:
        set_profile(shop, False, profile)
        recs, probs = answers(shop)
        assert recs == baseline[0], profile
        np.testing.assert_allclose(probs, baseline[1])
        assert all(source != "segment" for _, source in recs)


def test_with_consent_the_profile_steers_recommendations_only(shop: sessionmaker) -> None:
    set_profile(shop, True, PROFILES[0])
    young_recs, young_probs = answers(shop)
    set_profile(shop, True, PROFILES[1])
    old_recs, old_probs = answers(shop)
    assert ("p24", "segment") in young_recs and ("p4", "segment") not in young_recs
    assert ("p4", "segment") in old_recs and ("p24", "segment") not in old_recs
    # The purchase probabilities do not depend on who the shopper is, only on what they did.
    np.testing.assert_allclose(young_probs, old_probs)


def test_withdrawn_consent_takes_the_profile_with_it(shop: sessionmaker) -> None:
    with session_scope(shop) as s:
        repo.ensure_shopper(s, "me", consent=True, **PROFILES[1])
    assert ("p4", "segment") in answers(shop)[0]
    with session_scope(shop) as s:
        repo.ensure_shopper(s, "me", consent=False)  # withdrawn: the profile goes with it
        row = s.get(Shopper, "me")
        assert (row.age_band, row.gender) == (None, None)
    assert all(source != "segment" for _, source in answers(shop)[0])
