"""Small, distinct, generated council-meeting articles for the store and fault tests.

Many tiny articles make many write batches, so that a kill or a fault can land between two
commit marks; `tag` keeps the articles of two files apart.
"""

from __future__ import annotations

import json
import random
from pathlib import Path


def write_council(path: Path, count: int, seed: int = 7, tag: str = "regular") -> Path:
    """`count` small distinct articles; `tag` keeps two files' articles apart."""
    rng = random.Random(seed)
    towns = ["Ashford", "Belmont", "Carver", "Dunmore", "Elgin", "Fairview", "Glenrock"]
    topics = ["a new bridge", "school budgets", "a water plant", "bus routes", "a library"]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            town, topic = rng.choice(towns), rng.choice(topics)
            body = (f"The council of {town} voted {rng.randint(3, 12)} to {rng.randint(0, 2)} "
                    f"on {topic} in {tag} meeting {i}. Mayor {rng.choice(['Ines', 'Ada'])} "
                    f"{rng.choice(['Vidal', 'Okafor'])} said work starts in "
                    f"{rng.choice(['March', 'June'])}. Residents raised "
                    f"{rng.randint(2, 40)} objections during the hearing.")
            out.write(json.dumps({"title": f"{town} {tag} council on {topic} ({i})",
                                  "source": f"{town} Gazette",
                                  "published_at": f"2024-0{1 + i % 9}-{1 + i % 28:02d}",
                                  "url": f"https://example.com/{tag}/{town.lower()}/{i}",
                                  "body": body}) + "\n")
    return path
