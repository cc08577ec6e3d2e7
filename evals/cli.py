"""`newsdesk eval ...` (placeholder until the eval runner lands: it only lists its commands)."""

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)
