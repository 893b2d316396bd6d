"""Key phrases of a paper, from its title and abstract alone: no model, no download.

Candidates are the runs of content words between punctuation, math and function words
(as RAKE splits text), and their sub-phrases of up to 4 words. Each is scored by how often the
paper uses it (title uses count double), how rare its words are across arXiv (a word
document-frequency table built from the 76k demo abstracts, ``keyword_df.tsv.gz``,
rebuilt by ``scripts/build_keyword_df.py``), whether it is a multi-word term, and how
early it first appears. Near-duplicates (plurals, a phrase inside a chosen one) are
dropped. Pure Python: about 1,200 papers per CPU second (``bench/keywords_quality.py``),
so the 76k demo papers take about a minute of one core.

Why not YAKE: its package declares both LGPLv3 and GPLv3, which does not sit with an
MIT project; and why not KeyBERT-style embedding ranking: it needs ~20 model calls per
paper, hundreds of times slower on a CPU (the embedder does 5 papers/s with passages).
"""

from __future__ import annotations

import gzip
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Bump when the method changes: stored keywords of another version are recomputed.
VERSION = 2
MAX_KEYWORDS = 8
MIN_KEYWORDS = 5
MAX_WORDS = 4
IDF_CAP = 8.0
IDF_UNSEEN = 7.0
SINGLE_WORD = 0.5  # HF's keywords, and readers', are mostly 2-3 word terms
LONG_PHRASE = 0.8

_FUNCTION_WORDS = """
a about above across after again against all almost along already also although always am among an and
another any anyone anything are around as at be became because become becomes been before being below
between both but by can cannot could did do does doing done down due during each either else enough etc
even ever every few for from further had has have having he her here hers herself him himself his how
however i if in into is it its itself just least less like many may me might more most much must my
myself neither never no nor not now of off often on once one only onto or other others otherwise our ours
ourselves out over own per perhaps rather same she should since so some such than that the their theirs
them themselves then there thereby therefore these they this those though through throughout thus to
together too toward towards under unless until up upon us very via was we well were what whatever when
whenever where whereas whether which while who whom whose why will with within without would yet you
your yours yourself yourselves versus vs i.e e.g cf et al
"""
# Words of abstracts that never name what a paper is about: claims, hedges, evaluation
# talk and common verbs (there is no part-of-speech tagger to tell verbs apart).
_GENERIC_WORDS = """
paper papers work works study studies approach approaches method methods methodology result results
propose proposes proposed present presents presented introduce introduces introduced show shows showed
shown demonstrate demonstrates demonstrated achieve achieves achieved achieving outperform outperforms
outperforming improve improves improved improving improvement improvements enable enables enabled enabling
use uses used using based novel new existing recent recently prior previous current various several
different significant significantly substantially effective effectively efficient efficiently extensive
extensively experiments experiment experimental evaluation evaluations evaluate evaluates evaluated
state-of-the-art sota art performance performances task tasks problem problems challenge challenges
challenging issue issues key important critical crucial fundamental main major first second third
furthermore moreover specifically particular particularly respectively including include includes
included leverage leverages leveraging leveraged address addresses addressing addressed remain remains
remaining consider considered considering provide provides provided providing make makes made making
allow allows allowed lead leads leading led obtain obtained yield yields find finds found given give gives
across able ability often widely wide large small high low better best strong stronger superior
comprehensive simple simply framework frameworks model models data code available publicly github
https http www com org html pdf arxiv aim aims goal goals way ways term terms thereby whereby wherein
need needs require requires required requiring remains typically generally usually commonly
still yet far much many more most less least analysis analyses insights insight finally overall
consistently consistent robust robustness compared compare comparing comparison across over
demonstrating showing suggests suggest suggesting reveal reveals revealed investigate investigates
investigated explore explores explored examine examines examined develop develops developed design
designed designs apply applied applies applying capture captures captured across effectiveness
superiority potential promising scalable additionally notably importantly crucially typically
predict predicts predicted rethink rethinking revisit revisiting documented written ahead substantial
rely relies relied hinge hinges interact interacts remembered understand understanding towards toward
call calls called known unknown true false always yielding yield able unable ensure ensures ensuring
assume assumes assuming involve involves involving unify unifies unifying employ employs employing
utilize utilizes utilizing utilise utilises incorporate incorporates incorporating integrate integrates
"""
STOPWORDS = frozenset((_FUNCTION_WORDS + _GENERIC_WORDS).split())

_MATH = re.compile(r"\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]")
_URL = re.compile(r"https?://\S+|www\.\S+")
# A word keeps inner hyphens, apostrophes and digits ("zero-shot", "GPT-4o", "LLM-as-a-judge");
# anything else that is not a space ends a phrase.
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*|\d[\w.]*|[^\sA-Za-z0-9]")


@dataclass
class _Candidate:
    words: tuple[str, ...]  # as written
    count: float = 0.0
    first: int = 0  # position of the first use, in words from the start


@lru_cache(maxsize=1)
def document_frequencies() -> tuple[dict[str, int], int]:
    """(word -> number of demo abstracts using it, number of abstracts)."""
    raw = resources.files("paperfeed.index").joinpath("keyword_df.tsv.gz").read_bytes()
    lines = gzip.decompress(raw).decode().splitlines()
    total = int(lines[0].split("\t")[1])
    table = {}
    for line in lines[1:]:
        word, _, count = line.partition("\t")
        table[word] = int(count)
    return table, total


@lru_cache(maxsize=1 << 17)  # words repeat across abstracts: the cache halves extraction time
def normal_word(word: str) -> str:
    """Lower case, a plural made singular: "Models" and "model" are one word."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ics")):
        return w[:-1]
    return w


def normal_phrase(phrase: str) -> tuple[str, ...]:
    """A phrase as compared (bench/keywords_quality.py matches on this too): words split
    at spaces and hyphens, lower case, singular."""
    return tuple(normal_word(w) for w in re.split(r"[\s\-/]+", phrase.strip()) if w)


def _is_content(token: str) -> bool:
    low = token.lower()
    if not token[0].isalnum() or low in STOPWORDS or len(low) < 2:
        return False
    if token[0].isdigit():
        return False  # bare numbers ("12.5%", "2024") are results, not topics
    return not (low.endswith("ly") and len(low) > 5)  # adverbs ("increasingly")


def _runs(text: str) -> list[list[str]]:
    """Maximal runs of content words, split at anything else."""
    text = _URL.sub(" . ", _MATH.sub(" . ", text))
    runs, run = [], []
    for token in _TOKEN.findall(text):
        if _is_content(token):
            run.append(token)
            continue
        if run:
            runs.append(run)
        run = []
    if run:
        runs.append(run)
    return runs


def _candidates(title: str, abstract: str) -> dict[tuple[str, ...], _Candidate]:
    found: dict[tuple[str, ...], _Candidate] = {}
    position = 0
    for weight, text in ((2.0, title), (1.0, abstract)):
        for run in _runs(text):
            norm = [normal_word(w) for w in run]
            for size in range(1, min(MAX_WORDS, len(run)) + 1):
                for start in range(len(run) - size + 1):
                    key = tuple(norm[start:start + size])
                    cand = found.get(key)
                    if cand is None:
                        cand = found[key] = _Candidate(tuple(run[start:start + size]), first=position + start)
                    cand.count += weight
            position += len(run)
    return found


@lru_cache(maxsize=1 << 17)
def _idf(word: str) -> float:
    """How rare a (normalised) word is across arXiv abstracts, capped."""
    df, total = document_frequencies()
    count = df.get(word)
    if count is None and "-" in word:  # an unseen compound is as rare as its rarer part
        parts = [_idf(part) for part in word.split("-") if part]
        return min(IDF_CAP, max(parts) + 1.0) if parts else IDF_UNSEEN
    if count is None:
        return IDF_UNSEEN
    return min(IDF_CAP, math.log((total + 1) / (count + 1)))


def _score(key: tuple[str, ...], cand: _Candidate) -> float:
    specificity = sum(map(_idf, key))
    if len(key) == 1 and not _is_name(cand.words[0]):
        specificity *= SINGLE_WORD
    elif len(key) > 2:
        specificity *= LONG_PHRASE ** (len(key) - 2)
    if key[-1].endswith("ed") and cand.count < 2:
        specificity *= 0.4  # ends in a participle: more likely a clause than a term
    if len(key) > 1 and key[0].endswith("ing") and cand.count < 2:
        specificity *= 0.6  # "transferring X", "employing Y": a verb and its object
    early = 1.0 + 0.3 / (1.0 + cand.first / 40.0)
    return (1.0 + math.log(cand.count)) * specificity * early


@lru_cache(maxsize=1 << 15)
def _is_name(word: str) -> bool:
    """An acronym or a coined name ("LLM", "PageMem", "GPT-4"): a keyword on its own."""
    return sum(c.isupper() for c in word) >= 2 or (any(c.isdigit() for c in word) and word[0].isalpha())


def _surface(words: tuple[str, ...]) -> str:
    """Keep acronyms and names as written ("KV-cache", "GPT-4"), lower-case the rest."""
    kept = [w if any(c.isupper() for c in w[1:]) or any(c.isdigit() for c in w) else w.lower() for w in words]
    return " ".join(kept)


def _overlaps(key: tuple[str, ...], chosen: list[tuple[str, ...]]) -> bool:
    for other in chosen:
        short, long_ = (key, other) if len(key) <= len(other) else (other, key)
        if any(long_[i:i + len(short)] == short for i in range(len(long_) - len(short) + 1)):
            return True
    return False


def extract_keywords(title: str, abstract: str, limit: int = MAX_KEYWORDS) -> list[str]:
    """The paper's key phrases, best first: ``limit`` at most, fewer when the text is thin."""
    found = _candidates(title or "", abstract or "")
    scored = [(_score(key, cand), i, key, cand) for i, (key, cand) in enumerate(found.items())]
    scored.sort(key=lambda item: (-item[0], item[1]))  # ties: the earlier candidate first
    chosen: list[tuple[str, ...]] = []
    phrases: list[str] = []
    best = scored[0][0] if scored else 0.0
    for score, _, key, cand in scored:
        if len(phrases) >= MIN_KEYWORDS and score < 0.35 * best:
            break
        if _overlaps(key, chosen):
            continue
        chosen.append(key)
        phrases.append(_surface(cand.words))
        if len(phrases) >= limit:
            break
    return phrases
