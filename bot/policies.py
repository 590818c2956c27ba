"""TED with its predictions remembered by dialogue state.

A trained TED policy is a pure function of the states it featurizes: the last `max_history`
turns' intent, entity types, previous action, slots and active loop (text only in end-to-end
mode). Shoppers walk the same few paths (search, refine, look at the second one, add to cart), so
the same states come back all the time, and each time TED ran its TensorFlow graph again: under
chat load that was the largest single cost of a turn in Rasa (py-spy: 18% of its busy time, for
two predictions a turn). This subclass looks the states up first and runs the model only for
states it has not met yet. The answer is the one the model would give: same states, same
probabilities.

Not remembered: end-to-end predictions (they depend on the message text, which is not part of
the key) and predictions that carry events (entities predicted from text).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction, SupportedData
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

# Distinct dialogue states seen; each entry is one probability per action (a few KB at most).
CACHE_SIZE = 4096


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True
)
class StateCachedTEDPolicy(TEDPolicy):
    """TEDPolicy whose predictions are memoised per featurized dialogue state (LRU)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._remembered: OrderedDict[str, tuple[tuple[float, ...], Any]] = OrderedDict()
        self._remembered_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    def _state_key(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None,
    ) -> str | None:
        if self.model is None or TEXT in self.fake_features:
            return None  # untrained, or the model reads the message text itself
        ml_only = self.supported_data() == SupportedData.ML_DATA
        # The same call, with the same arguments, that TED's featurization starts from.
        states = self.featurizer.prediction_states(
            [tracker],
            domain,
            use_text_for_last_user_input=self.only_e2e,
            ignore_rule_only_turns=ml_only,
            rule_only_data=rule_only_data,
            ignore_action_unlikely_intent=ml_only,
        )[0]
        return json.dumps(states, sort_keys=True, ensure_ascii=False, default=list)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        precomputations: MessageContainerForCoreFeaturization | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        key = self._state_key(tracker, domain, rule_only_data)
        if key is not None:
            with self._remembered_lock:
                hit = self._remembered.get(key)
                if hit is not None:
                    self._remembered.move_to_end(key)
                    self.cache_hits += 1
            if hit is not None:
                probabilities, diagnostic_data = hit
                return self._prediction(list(probabilities), diagnostic_data=diagnostic_data)
        prediction = super().predict_action_probabilities(
            tracker, domain, rule_only_data, precomputations, **kwargs
        )
        if (
            key is not None
            and not prediction.is_end_to_end_prediction
            and not (prediction.optional_events)
        ):
            with self._remembered_lock:
                self.cache_misses += 1
                self._remembered[key] = (
                    tuple(prediction.probabilities),
                    prediction.diagnostic_data,
                )
                if len(self._remembered) > CACHE_SIZE:
                    self._remembered.popitem(last=False)
        return prediction
