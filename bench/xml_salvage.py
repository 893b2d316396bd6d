"""Time the salvage of a broken Atom feed: n unclosed <entry> elements (issue #12, row 11).

    .venv/bin/python bench/xml_salvage.py [--sizes 5000 10000 20000 80000]

The lazy pattern the salvage used before took 4.2 s, 9.8 s and 23.3 s at 5k, 10k and 20k
(quadratic); a linear salvage takes milliseconds and doubles with n. Prints CPU seconds,
best of three, and the ratio to the smallest size.
"""

from __future__ import annotations

import argparse
import time

from paperfeed.ingest.atom import ATOM
from paperfeed.records import MalformedRecord
from paperfeed.ingest.xmlparts import split_items


def unclosed_feed(n: int) -> bytes:
    return (f'<feed xmlns="{ATOM}"><title>t</title>' + "<entry><id>x</id>" * n + "</feed>").encode()


def salvage_seconds(data: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        try:
            split_items(data, "entry", ATOM)
        except MalformedRecord:
            pass  # nothing outside the broken entries is a feed either
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 10_000, 20_000, 80_000])
    args = parser.parse_args()
    base = None
    for n in args.sizes:
        data = unclosed_feed(n)
        seconds = salvage_seconds(data)
        base = base or seconds
        print(f"{n:>7} unclosed entries, {len(data) / 1024:7.0f} KB: {seconds:8.4f} s CPU ({seconds / base:5.1f}x)")


if __name__ == "__main__":
    main()
