"""Talking to a chat model: the `Generator` protocol and an OpenAI-compatible client.

Any OpenAI-compatible server works (vLLM, Ollama, llama.cpp's server, a hosted API, and the
local answerer, which is llama.cpp's server inside this process): the `openai` client is used
directly, since the only call needed is a streamed chat completion and its timeout and error
types are what the fallback to the extractive answer has to tell apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol

from index.errors import clip


class GenerationError(Exception):
    """The model gave nothing usable; the message is one line, fit for a notice."""


class Generator(Protocol):
    """A chat model that streams text. Implementations raise `GenerationError` on failure."""

    name: str

    def stream(self, messages: list[dict[str, str]], max_tokens: int,
               stop: list[str] | None = None) -> Iterator[str]: ...

    def describe(self) -> dict[str, str]:
        """Which answerer and model this is, for the run record of an eval."""
        ...


def _api_base(url: str) -> str:
    """Servers document their base URL both with and without `/v1`; accept either."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") or "/v1/" in url else url + "/v1"


class OpenAICompatibleGenerator:
    """A model behind an OpenAI-compatible `/v1/chat/completions` endpoint, streamed.

    `timeout` bounds the whole answer, not only each network read: a server that trickles
    tokens forever must still fall back to the offline answer in time.
    """

    def __init__(self, url: str, model: str, api_key: str = "", timeout: float = 30.0,
                 temperature: float = 0.0):
        import httpx
        import openai

        self.url = _api_base(url)
        self.model = model or "default"
        self.timeout = float(timeout)
        self.temperature = temperature
        self.name = f"{self.model} at {self.url}"
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=self.url, api_key=api_key or "not-needed", max_retries=0,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
        )

    @classmethod
    def from_settings(cls, settings) -> OpenAICompatibleGenerator:
        return cls(settings.llm_url, settings.llm_model, settings.llm_api_key,
                   settings.llm_timeout)

    def stream(self, messages: list[dict[str, str]], max_tokens: int,
               stop: list[str] | None = None) -> Iterator[str]:
        import httpx

        openai = self._openai
        deadline = time.monotonic() + self.timeout
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens,
                temperature=self.temperature, stream=True, **({"stop": stop} if stop else {}),
            )
            try:
                for chunk in response:
                    if time.monotonic() > deadline:
                        raise GenerationError(self._timed_out())
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta.content
                    if delta:
                        yield delta
            finally:
                response.close()
        except GenerationError:
            raise
        except (openai.APITimeoutError, httpx.TimeoutException):
            # A read timeout while streaming comes from httpx itself, not wrapped by openai.
            raise GenerationError(self._timed_out()) from None
        except openai.APIConnectionError as exc:
            raise GenerationError(
                f"the model server at {self.url} is not reachable ({_short(exc)})") from None
        except openai.APIStatusError as exc:
            raise GenerationError(
                f"the model server at {self.url} answered HTTP {exc.status_code} "
                f"({_short(exc)})") from None
        except Exception as exc:  # a broken stream, a proxy's HTML page, ...: still one line
            raise GenerationError(
                f"the model server at {self.url} failed ({type(exc).__name__}: {_short(exc)})"
            ) from None

    def describe(self) -> dict[str, str]:
        return {"answerer": "served", "model": self.model, "url": self.url}

    def _timed_out(self) -> str:
        return f"the model server at {self.url} did not answer within {self.timeout:g} s"


def _short(exc: BaseException) -> str:
    return clip(exc, 160)
