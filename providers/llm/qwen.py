"""Qwen through DashScope's OpenAI-compatible mode (PROVIDERS.md 10). Keys are region-bound: pick the base URL of
the key's region (QWEN_BASE_URL). Thinking is switched off: its output would not be part of the answer."""

from __future__ import annotations

from typing import Any

from providers.llm._openai_compat import OpenAICompatibleProvider


class QwenProvider(OpenAICompatibleProvider):
    name = "qwen"
    default_base_url = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    default_model = "qwen-plus"

    def extra_body(self) -> dict[str, Any]:
        return {"enable_thinking": False}
