"""Checks and reshaping of a ``SpeechRequest`` that every adapter shares: the text must say something, the speed
must be a positive number (each adapter clamps it to its API's range), and a text longer than an API allows is
split at sentence ends, never inside a word when a space is near."""

from __future__ import annotations

import logging
import math
import re

from providers.errors import ProviderInvalidRequest

log = logging.getLogger(__name__)

# A sentence ends after . ! ? or an ellipsis and a space, right after a CJK full stop, exclamation or question mark
# or semicolon (no space follows those), or at a newline.
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+|(?<=[\u3002\uff01\uff1f\uff1b])|\s*\n+\s*")


def require_text(text: str, *, provider: str, limit: int | None = None) -> str:
    """The text stripped; empty (or over ``limit`` characters) is a ``ProviderInvalidRequest`` sent nowhere."""
    stripped = text.strip()
    if not stripped:
        raise ProviderInvalidRequest(f"{provider}: nothing to say (the text is empty)", provider=provider)
    if limit is not None and len(stripped) > limit:
        raise ProviderInvalidRequest(
            f"{provider}: the text has {len(stripped)} characters; this API takes at most {limit}", provider=provider
        )
    return stripped


def clamp_speed(speed: float, low: float, high: float, *, provider: str) -> float:
    """``speed`` within the API's ``[low, high]``; not a positive finite number is a ``ProviderInvalidRequest``."""
    if not math.isfinite(speed) or speed <= 0:
        raise ProviderInvalidRequest(f"{provider}: speed must be a positive number, not {speed!r}", provider=provider)
    clamped = min(high, max(low, speed))
    if clamped != speed:
        log.debug("%s: speed %s clamped to %s", provider, speed, clamped)
    return clamped


def primary_language(language: str | None) -> str | None:
    """``"pt-BR"`` / ``"pt_br"`` -> ``"pt"``; ``None`` or blank -> ``None``."""
    if not language or not language.strip():
        return None
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]


def split_sentences(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, whole sentences packed greedily; a sentence longer than ``limit`` is
    cut at its last space before the limit (or hard at the limit when it has none)."""
    chunks: list[str] = []
    current = ""
    for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
        if not sentence:
            continue
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            piece, sentence = sentence[:cut].strip(), sentence[cut:].strip()
            if current:
                chunks.append(current)
                current = ""
            chunks.append(piece)
        joined = f"{current} {sentence}" if current else sentence
        if len(joined) <= limit:
            current = joined
        else:
            chunks.append(current)
            current = sentence
    if current:
        chunks.append(current)
    return chunks
