"""Choosing papers for one subscriber (pure functions over a pool)."""

from paperfeed.digest.choose import Candidate, Interests, author_key, choose, index_pool


def cand(pk: int, cats=("cs.LG",), authors=("Ada Lovelace",), title="t", upvotes=0) -> Candidate:
    return Candidate(pk=pk, id=f"2601.{pk:05d}", title=title, authors=list(authors), abstract="", upvotes=upvotes,
                     categories=list(cats), abs_url="", code_url=None, text=title.lower())


def test_without_interests_the_digest_is_trending_order_minus_already_sent():
    pool = index_pool([cand(i) for i in range(10)])
    picked = choose(pool, Interests(), 4, already_sent={1, 2})
    assert [c.pk for c in picked] == [0, 3, 4, 5]


def test_matching_papers_come_first_then_trending():
    cands = [cand(0), cand(1, cats=("cs.CL",)), cand(2), cand(3, cats=("cs.CL", "eess.AS")), cand(4)]
    pool = index_pool(cands)
    picked = choose(pool, Interests(categories=("cs.CL",)), 4)
    assert [c.pk for c in picked] == [1, 3, 0, 2]


def test_more_and_stronger_matches_rank_higher():
    cands = [cand(0, cats=("cs.CL",)), cand(1, cats=("cs.CL",), authors=("Grace Hopper",)), cand(2)]
    pool = index_pool(cands)
    pool.by_query["speech"] = [2]
    picked = choose(pool, Interests(categories=("cs.CL",), keywords=("speech",), authors=("grace  HOPPER",)), 3)
    # author (3) + category (1) beats keyword (2) beats category alone (1)
    assert [c.pk for c in picked] == [1, 2, 0]


def test_archive_level_categories_match_subcategories():
    pool = index_pool([cand(0), cand(1, cats=("math.CO",))])
    assert [c.pk for c in choose(pool, Interests(categories=("math",)), 1)] == [1]


def test_nothing_new_gives_an_empty_digest():
    pool = index_pool([cand(0), cand(1)])
    assert choose(pool, Interests(categories=("cs.LG",)), 5, already_sent={0, 1}) == []


def test_author_key_ignores_case_accents_and_spacing():
    assert author_key("  Kurt  Gödel ") == author_key("kurt godel")
