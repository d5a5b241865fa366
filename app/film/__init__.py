"""The film renderer (PROTOCOL.md 8.3 ``export``): an ordered list of shots -> one MP4 (H.264 + AAC, faststart),
an SRT sidecar and an OpenTimelineIO file, made by ffmpeg. It knows nothing of the rest of the app: the job kind
that calls it turns workspaces into ``FilmShot``s and params into ``ExportOptions``."""

from app.film.ffmpeg import kill_strays
from app.film.model import (
    BadMedia,
    ExportOptions,
    Film,
    FilmError,
    FilmShot,
    NothingToExport,
    RenderFailed,
    frame_size,
)
from app.film.render import render_film

__all__ = [
    "BadMedia",
    "ExportOptions",
    "Film",
    "FilmError",
    "FilmShot",
    "NothingToExport",
    "RenderFailed",
    "frame_size",
    "kill_strays",
    "render_film",
]
