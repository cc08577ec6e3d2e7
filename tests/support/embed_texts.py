"""Texts that exercise an embedder's edges (empty, non-Latin, longer than the model's limit):
shared by the local embedding tests and the embedding-server tests, which compare vectors."""

TEXTS = [
    "Who besieged al-Bab?",
    "",
    "The town has been besieged since Monday, when government forces advancing from the south "
    "cut off a road leading into Al-Bab.",
    "«Ça va», dit-il — 3.5% of Ünïcödé text, 東京 and emoji 🚀 in one line.",
    " ".join(["A very long sentence that goes on and on past the model's token limit."] * 40),
]
