"""Doubao through Volcengine Ark's OpenAI-compatible chat API (PROVIDERS.md 11). ``DOUBAO_MODEL`` may be a model id
or an inference endpoint id (``ep-...``)."""

from __future__ import annotations

from providers.llm._openai_compat import OpenAICompatibleProvider


class DoubaoProvider(OpenAICompatibleProvider):
    name = "doubao"
    default_base_url = "https://ark.cn-beijing.volces.com/api/v3"
    default_model = "doubao-seed-1-6-250615"
