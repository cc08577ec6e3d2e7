"""Newsdesk's answering layer: cited answers from hybrid retrieval over the index.

It imports `index` only, never `ui` or `evals`.
"""
