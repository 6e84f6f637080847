"""The classifiers behind `ObjectionClassifier`, the labelled notes and their fixed train / held-out split."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

TAGS = ("price", "budget_timing", "competitor", "authority", "need", "trust")
DATA = Path(__file__).with_name("data") / "notes.tsv"

# Words and phrases that signal each objection (zh words as jieba segments them, or substrings; en lower-case).
LEXICON: dict[str, tuple[str, ...]] = {
    "price": ("贵", "价格", "报价", "折扣", "降价", "便宜", "费用", "压价", "单价", "价位", "年费", "服务费",
              "expensive", "price", "pricing", "discount", "cheaper", "cost", "fee", "overpriced", "quote"),
    "budget_timing": ("预算", "财年", "明年", "下个季度", "冻结", "资金", "立项", "下半年",
                      "budget", "fiscal", "next year", "funded", "funding", "funds", "frozen", "froze",
                      "second half"),
    "competitor": ("竞品", "友商", "竞争对手", "另一家", "供应商", "厂商", "大厂", "招标", "其他厂家",
                   "competitor", "competing", "rival", "vendor", "vendors", "supplier", "tender", "incumbent",
                   "market leader", "provider"),
    "authority": ("决策", "拍板", "审批", "批准", "老板", "总经理", "董事", "上报", "签字", "领导", "总部", "上级",
                  "decision", "decides", "approve", "approval", "board", "ceo", "boss", "sign-off", "sign off",
                  "headquarters", "final call", "director", "parent company", "escalate"),
    "need": ("不需要", "用不上", "用不着", "没必要", "够用", "没有计划", "优先", "没什么帮助", "以后再考虑",
             "no need", "not need", "good enough", "not a priority", "no plans", "not relevant", "build it",
             "reconsider", "efficient enough", "no reason to change", "too complex"),
    "trust": ("担心", "放心", "案例", "安全", "顾虑", "试点", "试用", "信心", "资质", "怀疑", "稳定", "推荐人",
              "worried", "worries", "worry", "afraid", "concerns", "references", "case studies", "pilot",
              "confident", "comfortable", "doubt", "risky", "skeptical", "cautious", "stable", "prove"),
}


@dataclass(frozen=True)
class Note:
    text: str
    tags: frozenset[str]


@dataclass(frozen=True)
class Tag:
    tag: str
    score: Decimal


class ObjectionClassifier(Protocol):
    """The one interface: a score in [0, 1] per tag for each text. Anything implementing it can replace the
    default (a larger model, a remote service...)."""

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


def load_notes(path: Path = DATA) -> list[Note]:
    notes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        tags, text = line.split("\t", 1)
        notes.append(Note(text.strip(), frozenset() if tags == "-" else frozenset(tags.split(","))))
    return notes


def split(notes: Sequence[Note], held_out: float = 0.3) -> tuple[list[Note], list[Note]]:
    """A fixed split by a hash of the text: the held-out notes are never trained or tuned on."""
    train, test = [], []
    for note in notes:
        bucket = int(hashlib.sha256(note.text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (test if bucket < held_out else train).append(note)
    return train, test


_WORD = re.compile(r"[a-z][a-z\-']*")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def tokens(text: str) -> list[str]:
    """jieba words for Chinese, lower-case words for English."""
    import jieba

    lowered = text.lower()
    out = _WORD.findall(lowered)
    if _HAN.search(text):
        out += [w for w in jieba.lcut(text) if _HAN.search(w)]
    return out


class LexiconClassifier:
    """1.0 for a tag when one of its lexicon entries occurs (a jieba word, or a phrase in the text)."""

    def __init__(self, lexicon: dict[str, tuple[str, ...]] | None = None):
        self.lexicon = lexicon or LEXICON

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        out = []
        for text in texts:
            lowered = text.lower()
            words = set(tokens(text))
            out.append({tag: 1.0 if any(t in words or t in lowered for t in terms) else 0.0
                        for tag, terms in self.lexicon.items()})
        return out


class ModelClassifier:
    """TF-IDF (jieba/English words + character 1-3-grams) and one logistic regression per tag."""

    def __init__(self, vectorizer, models: dict[str, object]):
        import numpy as np

        self.vectorizer, self.models = vectorizer, models
        # one matrix product for every tag (sklearn's per-model predict_proba costs ~1 ms each for one note)
        self.tags = [tag for tag in TAGS if tag in models]
        self.weights = np.vstack([models[t].coef_[0] for t in self.tags]).T if self.tags else None
        self.bias = np.array([models[t].intercept_[0] for t in self.tags])
        # the fitted TF-IDF parts, for scoring one note without building sparse matrices (4 ms -> ~0.2 ms)
        self.parts, offset = [], 0
        for _, part in vectorizer.transformer_list:
            self.parts.append((part.build_analyzer(), part.vocabulary_, part.idf_, offset))
            offset += len(part.vocabulary_)

    @classmethod
    def train(cls, notes: Sequence[Note]) -> ModelClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        vectorizer = FeatureUnion([
            ("words", TfidfVectorizer(analyzer=tokens, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2)),
        ])
        matrix = vectorizer.fit_transform([n.text for n in notes])
        models = {}
        for tag in TAGS:
            labels = [tag in n.tags for n in notes]
            if any(labels) and not all(labels):
                models[tag] = LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000).fit(matrix, labels)
        return cls(vectorizer, models)

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        import numpy as np

        if not self.tags:
            return [dict.fromkeys(TAGS, 0.0) for _ in texts]
        if len(texts) < 8:
            logits = np.vstack([self._logits(text) for text in texts])
        else:
            logits = np.asarray(self.vectorizer.transform(list(texts)) @ self.weights) + self.bias
        probabilities = 1.0 / (1.0 + np.exp(-logits))  # the logistic regression's own P(tag)
        out = []
        for row in probabilities.tolist():
            found = dict.fromkeys(TAGS, 0.0)
            found.update(zip(self.tags, row, strict=True))
            out.append(found)
        return out


    def _logits(self, text: str):
        """What `vectorizer.transform` then `@ weights` computes, for one text: sublinear TF x IDF, L2 per part."""
        import math

        logits = self.bias.copy()
        for analyzer, vocabulary, idf, offset in self.parts:
            counts: dict[int, int] = {}
            for token in analyzer(text):
                index = vocabulary.get(token)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            values = {i: (1.0 + math.log(n)) * idf[i] for i, n in counts.items()}
            norm = math.sqrt(sum(v * v for v in values.values()))
            for i, v in values.items():
                logits += self.weights[offset + i] * (v / norm)
        return logits


class HybridClassifier:
    """The higher of the two scores per tag: the lexicon's precision, the model's reach."""

    def __init__(self, *parts: ObjectionClassifier):
        self.parts = parts

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        results = [part.scores(texts) for part in self.parts]
        return [{tag: max(r[i].get(tag, 0.0) for r in results) for tag in TAGS} for i in range(len(texts))]


class Tagger:
    def __init__(self, classifier: ObjectionClassifier, threshold: float = 0.5):
        self.classifier, self.threshold = classifier, threshold

    def tag_many(self, texts: Sequence[str]) -> list[list[Tag]]:
        return [[Tag(tag, Decimal(str(round(score, 3)))) for tag, score in sorted(found.items(),
                                                                                 key=lambda kv: -kv[1])
                 if score >= self.threshold]
                for found in self.classifier.scores(texts)]

    def tag(self, text: str) -> list[Tag]:
        return self.tag_many([text])[0]
