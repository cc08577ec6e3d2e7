"""Newsdesk's index layer: article files in, a searchable Chroma store out.

This layer is the bottom of the one-way flow (articles -> index -> assistant -> ui/evals):
it imports nothing from `assistant`, `ui` or `evals`.
"""
