"""Page furniture is kept verbatim but never ranked: the shape rules, the recurrence count of
the real sentence index, and an assistant over a real store that does not cite it."""

from __future__ import annotations

import json

from assistant.engine import Assistant
from index.furniture import is_furniture, text_key
from index.indexer import Indexer
from index.settings import Settings
from index.store import Store


def test_shapes_that_are_furniture():
    for line in ("CNN —", "Read More", "North Dakota", "1. Extreme weather", "QUIZ TIME",
                 "TODAY'S QUOTE", "BREAKFAST BROWSE",
                 "Sign up here to get our weekly newsletter.",
                 "Check your local forecast here>>>",
                 "Contributing: The Associated Press",
                 "Photo by Jane Doe for the Daily Planet"):
        assert is_furniture(line), line


def test_shapes_that_are_content():
    for line in ("He died.", "Netflix announced Sunday that the show will return.",
                 "The town has been besieged since Monday.",
                 "NASA said the launch would be delayed until next week.",
                 # A long sentence that mentions a newsletter is a sentence.
                 "The mayor, who announced the plan in a newsletter sent to residents on Monday "
                 "morning, said the city would close three schools and two libraries by June "
                 "because of the budget gap that the council failed to close last year."):
        assert not is_furniture(line), line


def test_text_key_ignores_case_spacing_and_outer_punctuation():
    assert text_key("Read  more") == text_key("READ MORE.") == text_key(" read more >>>")
    assert text_key("Read more") != text_key("Read less")


STORY = ("The river burst its banks on Tuesday and flooded the old town of Wellbridge. "
         "Firefighters rescued forty residents from their roofs overnight. ")
SHARED_LINE = "Get our weekly flood alerts in your inbox every single Monday morning"


def _records(tmp_path):
    records = []
    for i in range(4):
        body = (f"{STORY if i == 0 else f'Story number {i} is about the city budget and taxes. '}"
                f"\n\n{SHARED_LINE}\n\nSIGN UP\n\nMore on the budget vote next week.")
        records.append({"title": f"Page {i}", "url": f"https://news.example/page-{i}",
                        "body": body, "source": "news.example"})
    path = tmp_path / "pages.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_recurring_lines_are_found_and_never_cited(tmp_path, embedder):
    from index.indexer import read_inputs

    settings = Settings(home=str(tmp_path / "home"), answerer="extractive")
    store = Store(settings)
    articles, errors = read_inputs([_records(tmp_path)])
    Indexer(store, lambda: embedder, settings.chunk_tokens).run(articles, errors)
    lexical = store.lexical
    keys = [(a.id, s.index) for a in articles for s in a.sentences]
    texts = {(a.id, s.index): a.sentence_text(s) for a in articles for s in a.sentences}
    recurring = lexical.recurring(keys)
    # Every line shared by the four pages, and nothing else (the stories are their own).
    shared = {SHARED_LINE, "SIGN UP", "More on the budget vote next week."}
    assert recurring == {k for k, t in texts.items() if t in shared}
    assert len(recurring) == 12
    # Kept verbatim in the store...
    assert all(SHARED_LINE in a.text for a in store.iter_articles())
    # ...but a question made of its words never cites it, nor the all-caps prompt.
    answer = Assistant(settings, store=store, embedder=embedder).ask(
        "When do the weekly flood alerts arrive in the inbox?")
    cited = [c.text for c in answer.citations + answer.closest]
    assert cited, "the story sentences are still there to cite"
    assert SHARED_LINE not in cited and "SIGN UP" not in cited
