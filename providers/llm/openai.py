"""OpenAI Chat Completions (PROVIDERS.md 8), streamed over SSE."""

from __future__ import annotations

from providers.llm._openai_compat import OpenAICompatibleProvider


class OpenAIProvider(OpenAICompatibleProvider):
    name = "openai"
    default_base_url = "https://api.openai.com/v1"
    default_model = "gpt-4o-mini"
