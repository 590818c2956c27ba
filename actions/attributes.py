"""Attribute mentions in free text (材质, 颜色, 尺码) with spaCy: a blank `zh` pipeline segmented
by jieba plus a PhraseMatcher over the catalog vocabulary. No model is downloaded.

Used to answer questions about a shown product such as 这件是纯棉的吗 / 有黑色吗 / 有42码吗.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from actions.lexicon import Lexicon
from shopbot.config import PROJECT_ROOT

JIEBA_DICT = PROJECT_ROOT / "bot" / "jieba_dict"
KINDS = {"materials": "material", "colors": "color", "sizes": "size"}


@dataclass(frozen=True)
class Mention:
    attribute: str  # material | color | size
    value: str  # canonical catalog value
    text: str  # as typed


class AttributeMatcher:
    def __init__(self, lexicon: Lexicon) -> None:
        import jieba
        import spacy
        from spacy.matcher import PhraseMatcher

        # The catalog dictionary keeps 纯棉 / 头层牛皮 / 42码 whole, as in the NLU tokenizer.
        for path in sorted(JIEBA_DICT.glob("*.txt")):
            jieba.load_userdict(str(path))
        self.nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self._lock = threading.Lock()
        for kind, attribute in KINDS.items():
            for canonical, variants in getattr(lexicon, kind).items():
                forms = {canonical, *variants}
                if attribute == "size" and canonical.replace(".", "").isdigit():
                    forms |= {f"{canonical}码", f"{canonical}号"}
                patterns = [self.nlp.make_doc(f) for f in sorted(forms) if f]
                self.matcher.add(f"{attribute}\t{canonical}", patterns)

    def find(self, text: str) -> list[Mention]:
        with self._lock:  # spaCy's jieba segmenter is not re-entrant across threads
            doc = self.nlp.make_doc(text or "")
            matches = self.matcher(doc)
        out: list[Mention] = []
        taken: list[tuple[int, int]] = []
        # Longest first so 头层牛皮 wins over 牛皮 and 粉红色 over 粉.
        for match_id, start, end in sorted(matches, key=lambda m: m[1] - m[2]):
            if any(start < e and s < end for s, e in taken):
                continue
            attribute, value = self.nlp.vocab.strings[match_id].split("\t", 1)
            taken.append((start, end))
            out.append(Mention(attribute, value, doc[start:end].text))
        return sorted(out, key=lambda m: text.find(m.text))


_matchers: dict[int, tuple[Lexicon, AttributeMatcher]] = {}
_build_lock = threading.Lock()


def attribute_matcher(lexicon: Lexicon) -> AttributeMatcher:
    """One matcher per lexicon, built on first use (spaCy + jieba take about a second)."""
    with _build_lock:
        cached = _matchers.get(id(lexicon))
        if cached is None or cached[0] is not lexicon:
            cached = (lexicon, AttributeMatcher(lexicon))
            _matchers[id(lexicon)] = cached
        return cached[1]
