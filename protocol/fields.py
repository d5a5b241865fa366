"""Field rules of PROTOCOL.md section 2: names, titles, image paths and URLs, and the shot form."""

from __future__ import annotations

import json
import math
import posixpath
import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline ("default\n" would pass).
PROJECT_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
FORM_KEY_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}\Z")
UPLOAD_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
OBJECT_ID_RE: Final = re.compile(r"^[0-9a-f]{24}\Z")

ASPECT_RATIOS: Final = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
FORM_MAX_KEYS: Final = 64
FORM_MAX_BYTES: Final = 64 * 1024
FORM_MAX_DEPTH: Final = 3
FORM_MAX_LIST: Final = 100
FORM_MAX_STRING: Final = 4000
TITLE_MAX: Final = 200

# Known form keys: (kind, limit). kind "str" has a max length; "num" a closed range; "int" a minimum.
KNOWN_FORM_KEYS: Final[dict[str, tuple[str, Any]]] = {
    "camera_movement": ("str", 100),
    "shot_size": ("str", 100),
    "lighting": ("str", 100),
    "model": ("str", 100),
    "prompt": ("str", 4000),
    "negative_prompt": ("str", 4000),
    "narration": ("str", 4000),  # 1.1 (PROTOCOL.md 8.5): the line a voice says over the shot
    "duration_s": ("num", (1, 30)),
    "aspect_ratio": ("enum", ASPECT_RATIOS),
    "seed": ("int", 0),
}

# Fields a client may never set (PROTOCOL.md 2: "Every other field is the server's").
SERVER_OWNED_FIELDS: Final = frozenset(
    {
        "id",
        "_id",
        "project",
        "order_index",
        "video",
        "ai_collaboration",
        "version",
        "created_at",
        "updated_at",
        "create_msg_id",
        "narration_audio",  # 1.1 (PROTOCOL.md 8.5): set by the narration job
    }
)


def _fail(message: str, path: str = "") -> PydanticCustomError:
    """A field error; ``path`` (dotted, below the field) lets the codec point ``loc`` at the exact key."""
    return PydanticCustomError("invalid_value", message, {"path": path} if path else None)


def check_project(value: str) -> str:
    if not PROJECT_RE.match(value):
        raise _fail("must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    return value


def check_object_id(value: str) -> str:
    if not OBJECT_ID_RE.match(value):
        raise _fail("must be 24 lowercase hex characters")
    return value


def _has_dotdot(path: str) -> bool:
    return any(part == ".." for part in path.replace("\\", "/").split("/"))


def check_image_path(value: str | None) -> str | None:
    """``uploads/<name>``: a file name this server chose; no traversal, no sub-folders."""
    if value is None:
        return None
    if "\x00" in value or "\\" in value or _has_dotdot(value):
        raise _fail("must name a file under uploads/")
    normalised = posixpath.normpath(value)
    head, _, name = normalised.partition("/")
    if head != "uploads" or not UPLOAD_NAME_RE.match(name):
        raise _fail("must name a file under uploads/")
    return normalised


def check_image_url(value: str | None) -> str | None:
    """``/uploads/<name>`` or an absolute http(s) URL; anything else (javascript:, data:, //host) is refused."""
    if value is None:
        return None
    if len(value) > 2048 or any(c in value for c in "\x00\r\n\t \\<>\"'`") or _has_dotdot(value.split("?")[0]):
        raise _fail("must be /uploads/... or an http(s) URL")
    lowered = value.lower()
    if lowered.startswith(("http://", "https://")):
        rest = value.split("://", 1)[1]
        if not rest or rest.startswith("/"):
            raise _fail("must be /uploads/... or an http(s) URL")
        return value
    if value.startswith("/uploads/") and check_image_path(value[1:]):
        return value
    raise _fail("must be /uploads/... or an http(s) URL")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_scalar(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool) or _is_number(value):
        return
    if isinstance(value, str):
        if len(value) > FORM_MAX_STRING:
            raise _fail(f"string longer than {FORM_MAX_STRING} characters", where)
        return
    raise _fail("must be a string, number, boolean, null, list or object", where)


def _check_free_value(value: Any, where: str, depth: int) -> None:
    if isinstance(value, list):
        if len(value) > FORM_MAX_LIST:
            raise _fail(f"list longer than {FORM_MAX_LIST}", where)
        for i, item in enumerate(value):
            if isinstance(item, list | dict):
                raise _fail("list items must be scalars", f"{where}.{i}")
            _check_scalar(item, f"{where}.{i}")
        return
    if isinstance(value, dict):
        # PROTOCOL.md 7: values directly in form_data are depth 1; objects may sit down to depth 3 (their own
        # values are then at depth 4), no deeper.
        if depth > FORM_MAX_DEPTH:
            raise _fail(f"nested deeper than {FORM_MAX_DEPTH}", where)
        for key, item in value.items():
            _check_key(key, where, nested=True)
            _check_free_value(item, f"{where}.{key}", depth + 1)
        return
    _check_scalar(value, where)


def _check_key(key: Any, where: str, *, nested: bool = False) -> None:
    if not isinstance(key, str) or not FORM_KEY_RE.match(key):
        raise _fail(f"key {str(key)[:70]!r} must match ^[A-Za-z][A-Za-z0-9_]{{0,63}}$", where if nested else "")


def check_form_value(key: str, value: Any) -> None:
    """One form key and its value (not None: None means "remove" in a patch)."""
    _check_key(key, "")
    rule = KNOWN_FORM_KEYS.get(key)
    if rule is None:
        _check_free_value(value, key, 1)
        return
    kind, limit = rule
    if kind == "str":
        if not isinstance(value, str):
            raise _fail("must be a string", key)
        if len(value) > limit:
            raise _fail(f"at most {limit} characters", key)
    elif kind == "num":
        if not _is_number(value):
            raise _fail("must be a number", key)
        low, high = limit
        if not low <= value <= high:
            raise _fail(f"must be between {low} and {high}", key)
    elif kind == "enum" and value not in limit:
        raise _fail(f"must be one of {', '.join(limit)}", key)
    elif kind == "int" and (not isinstance(value, int) or isinstance(value, bool) or value < limit):
        raise _fail(f"must be an integer >= {limit}", key)


def check_form_patch(value: dict[str, Any]) -> dict[str, Any]:
    """A ``form_data`` patch: each key valid; ``None`` removes the key. The 64-key and 64 KiB limits apply to the
    stored form after the merge (``check_form_totals``), not to the patch (PROTOCOL.md 7)."""
    for key, item in value.items():
        if item is None:
            _check_key(key, "")
        else:
            check_form_value(key, item)
    return value


def check_form_totals(form: dict[str, Any]) -> None:
    """The limits on the stored ``form_data`` after a patch is merged."""
    if len(form) > FORM_MAX_KEYS:
        raise _fail(f"form_data would have {len(form)} keys; at most {FORM_MAX_KEYS}")
    size = len(json.dumps(form, ensure_ascii=False, separators=(",", ":")).encode())
    if size > FORM_MAX_BYTES:
        raise _fail(f"form_data would be {size} bytes as JSON; at most {FORM_MAX_BYTES}")


def merge_form(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


ProjectName = Annotated[str, AfterValidator(check_project)]
ObjectIdStr = Annotated[str, AfterValidator(check_object_id)]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Title = Annotated[str, StringConstraints(max_length=TITLE_MAX)]
ImagePath = Annotated[str | None, AfterValidator(check_image_path)]
ImageUrl = Annotated[str | None, AfterValidator(check_image_url)]
FormPatch = Annotated[dict[str, Any], AfterValidator(check_form_patch)]
AiMessageText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Position = Annotated[int, Field(ge=0)]
