"""The subtitles as SubRip (.srt): one cue per narrated shot, in film order, each exactly its narration."""

from __future__ import annotations

from collections.abc import Sequence

from app.film.plan import Cue


def timestamp(seconds: float) -> str:
    """``HH:MM:SS,mmm`` (SubRip's comma)."""
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def srt_text(cues: Sequence[Cue]) -> str:
    """The SubRip document. A cue's text never holds a blank line (that would end it) nor a bare ``-->``."""
    blocks = []
    for number, cue in enumerate(cues, start=1):
        text = " ".join(cue.text.split()).replace("-->", "->")
        blocks.append(f"{number}\n{timestamp(cue.start_s)} --> {timestamp(cue.end_s)}\n{text}\n")
    return "\n".join(blocks)
