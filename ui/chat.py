"""The Gradio web chat (lands with the web-chat issue)."""

from index.errors import NewsdeskError
from index.settings import Settings


def serve(settings: Settings) -> None:
    raise NewsdeskError("the web chat is not built yet; use `newsdesk ask`")
