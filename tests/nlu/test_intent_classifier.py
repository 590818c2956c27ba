"""CharNgramIntentClassifier: learns intents from character n-grams, survives a save and load
without pickle, and reads full-width input like half-width."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.nlu.intent_classifier import (
    FILE_NAME,
    CharNgramFeatures,
    CharNgramIntentClassifier,
    char_ngrams,
)

EXAMPLES = {
    "view_cart": ["看看购物车", "购物车里有啥", "我的购物车", "打开购物车", "购物车给我看下"],
    "ask_offers": ["有优惠券吗", "有什么优惠", "能用券吗", "满减活动有吗", "优惠券在哪领"],
    "greet": ["你好", "在吗", "哈喽", "你好呀", "hi"],
}


def context() -> ExecutionContext:
    return ExecutionContext(graph_schema=None)  # type: ignore[arg-type]


@pytest.fixture
def trained(tmp_path) -> tuple[LocalModelStorage, Resource, CharNgramIntentClassifier]:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intents")
    classifier = CharNgramIntentClassifier.create(
        CharNgramIntentClassifier.get_default_config(), storage, resource, context()
    )
    messages = [
        Message(data={TEXT: text, INTENT: intent})
        for intent, texts in EXAMPLES.items()
        for text in texts
    ]
    classifier.train(TrainingData(messages))
    return storage, resource, classifier


def intent_of(classifier: CharNgramIntentClassifier, text: str) -> dict:
    message = Message(data={TEXT: text})
    classifier.process([message])
    return message.get(INTENT)


def test_unseen_phrasings_get_the_right_intent_with_a_ranking(trained) -> None:
    _, _, classifier = trained
    assert intent_of(classifier, "购物车里都有什么")["name"] == "view_cart"
    assert intent_of(classifier, "有没有优惠券")["name"] == "ask_offers"
    message = Message(data={TEXT: "你好啊"})
    classifier.process([message])
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == "greet"
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0)


def test_saved_model_loads_without_pickle_and_predicts_the_same(trained) -> None:
    storage, resource, classifier = trained
    with (
        storage.read_from(resource) as folder,
        np.load(folder / FILE_NAME, allow_pickle=False) as saved,
    ):
        assert {"terms", "idf", "coef", "intercept", "classes"} <= set(saved.files)
    loaded = CharNgramIntentClassifier.load(
        CharNgramIntentClassifier.get_default_config(), storage, resource, context()
    )
    texts = ["看下购物车", "优惠", "嗨"]
    np.testing.assert_allclose(
        loaded.predict_proba(texts), classifier.predict_proba(texts), rtol=1e-6
    )


def test_full_width_and_case_read_like_half_width(trained) -> None:
    _, _, classifier = trained
    np.testing.assert_allclose(
        classifier.predict_proba(["ＨＩ"]), classifier.predict_proba(["hi"]), rtol=1e-6
    )


def test_empty_text_and_unknown_characters_still_give_an_intent(trained) -> None:
    _, _, classifier = trained
    for text in ["", "   ", "😀😀", "zzqx"]:
        intent = intent_of(classifier, text)
        assert intent["name"] in EXAMPLES
        assert 0 < intent["confidence"] < 1


def test_untrained_component_loads_as_empty_and_sets_no_intent(tmp_path) -> None:
    storage = LocalModelStorage(tmp_path)
    loaded = CharNgramIntentClassifier.load({}, storage, Resource("missing"), context())
    message = Message(data={TEXT: "你好"})
    loaded.process([message])
    assert message.get(INTENT) is None


def test_features_equal_sklearn_sublinear_tfidf() -> None:
    texts = ["看看购物车", "购物车购物车", "有优惠券吗", "hi"]
    ours = CharNgramFeatures.fit(texts, 1, 2)
    reference = TfidfVectorizer(
        analyzer=lambda t: char_ngrams(t, 1, 2), sublinear_tf=True, vocabulary=ours.vocabulary
    ).fit(texts)
    np.testing.assert_allclose(
        ours.transform(texts).toarray(), reference.transform(texts).toarray(), rtol=1e-9
    )
