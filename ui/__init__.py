"""Newsdesk's front ends: the `newsdesk` command line and the Gradio web chat."""
