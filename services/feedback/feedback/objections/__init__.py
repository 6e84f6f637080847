"""Objection analysis for sales visit notes (客户异议识别): tags such as price, budget timing, competitor,
authority, need and trust, each with suggested responses from the company's playbook.

One interface, `ObjectionClassifier` (`scores(texts) -> [{tag: score}]`); three implementations: a jieba +
lexicon matcher, a small scikit-learn model (TF-IDF over jieba words and character n-grams, one logistic
regression per tag) trained on the labelled notes shipped in data/notes.tsv, and the hybrid used by default
(either one firing). Everything runs offline. `Tagger` turns scores into tags at a threshold."""
from __future__ import annotations

from functools import lru_cache

from feedback.objections.classifier import (
    TAGS,
    HybridClassifier,
    LexiconClassifier,
    ModelClassifier,
    ObjectionClassifier,
    Tag,
    Tagger,
    load_notes,
    split,
)
from feedback.objections.playbook import DEFAULT_PLAYBOOK

__all__ = ["DEFAULT_PLAYBOOK", "TAGS", "HybridClassifier", "LexiconClassifier", "ModelClassifier",
           "ObjectionClassifier", "Tag", "Tagger", "default_tagger", "load_notes", "split"]


@lru_cache(maxsize=1)
def default_tagger() -> Tagger:
    """The hybrid, its model trained on the training part of the shipped notes (once per process)."""
    train, _ = split(load_notes())
    return Tagger(HybridClassifier(LexiconClassifier(), ModelClassifier.train(train)))
