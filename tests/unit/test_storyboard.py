"""The storyboard kind's pure parts: the offline storyboard (deterministic, from the story's own sentences, valid
by section 2) and the repair of what a model returns (hostile values repaired or dropped, never stored)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.errors import AppError
from app.jobs.shots import clean_shot, clean_shots, nearest_camera
from app.jobs.storyboard import StoryboardParams, groups, offline_storyboard, parse_storyboard, sentences
from protocol import WorkspaceInput
from providers.base import CAMERA_MOVEMENTS

STORY = (
    "The sun sets over the quiet sea. A girl walks along the beach! She looks up at the tall lighthouse. "
    "A close look at her face? Night falls and the lamp is lit."
)


def assert_valid(shot: dict[str, Any]) -> None:
    """What create_many will store passes the protocol's own checks of a created workspace."""
    WorkspaceInput.model_validate({"title": shot["title"], "form_data": shot["form_data"]})
    form = shot["form_data"]
    assert set(form) <= {"prompt", "camera_movement", "shot_size", "lighting", "duration_s", "narration"}
    if "camera_movement" in form:
        assert form["camera_movement"] in CAMERA_MOVEMENTS


def test_offline_storyboard_is_one_shot_per_sentence_in_order_and_deterministic() -> None:
    shots = offline_storyboard(STORY, None, "")
    assert offline_storyboard(STORY, None, "") == shots
    assert [s["form_data"]["narration"] for s in shots] == sentences(STORY)
    assert len(shots) == 5
    for shot in shots:
        assert_valid(shot)
        assert 3 <= shot["form_data"]["duration_s"] <= 8
    first, second, third, fourth, fifth = (s["form_data"] for s in shots)
    assert first["lighting"] == "golden_hour" and first["shot_size"] == "extreme_wide"  # sunset, sea
    assert second["camera_movement"] == "pan_right"  # walks
    assert third["camera_movement"] == "tilt_up"  # looks up
    assert fourth["shot_size"] == "close_up" and fourth["camera_movement"] == "push_in"  # close, face
    assert fifth["lighting"] == "night"
    assert shots[0]["title"] == "The sun sets over the quiet…"


def test_offline_groups_sentences_into_the_shots_asked_for_and_adds_the_style() -> None:
    shots = offline_storyboard(STORY, 2, "film noir")
    assert len(shots) == 2
    assert " ".join(s["form_data"]["narration"] for s in shots) == " ".join(sentences(STORY))
    assert all(s["form_data"]["prompt"].endswith(", film noir") for s in shots)
    assert len(offline_storyboard(STORY, 24, "")) == 5  # never more shots than sentences
    many = " ".join(f"Sentence {i}." for i in range(100))
    assert len(offline_storyboard(many, None, "")) == 24  # at most 24
    assert sum(len(g) for g in groups(sentences(many), None)) == 100  # every sentence is kept


def test_params_are_strict() -> None:
    with pytest.raises(ValueError):
        StoryboardParams.model_validate({"story": "x", "bogus": 1})
    for bad in (
        {"story": ""},
        {"story": "x" * 20_001},
        {"story": "x", "shots": 25},
        {"story": "x", "style": "s" * 201},
    ):
        with pytest.raises(ValueError):
            StoryboardParams.model_validate(bad)


def test_hostile_model_output_is_repaired_or_dropped() -> None:
    hostile = [
        {
            "title": "T" * 5000,
            "prompt": "a red kite over the sea",
            "camera_movement": "dolly zoom into the void",
            "shot_size": "$where",
            "lighting": {"$gt": ""},
            "duration_s": 1e9,
            "narration": "n" * 9000,
            "$set": {"version": 0},
            "video": {"status": "completed"},
        },
        {"prompt": "rain", "camera_movement": "barrel roll", "duration_s": "NaN", "title": ["not", "a", "string"]},
        {"camera_movement": "static"},  # nothing to show: dropped
        "just a string",
        None,
        {"prompt": "x", "camera_movement": "Pan Left", "duration_s": True},
    ]
    shots = clean_shots(hostile, "")
    assert len(shots) == 3
    for shot in shots:
        assert_valid(shot)
        assert not any(k.startswith("$") for k in shot["form_data"])
    first, second, third = shots
    assert len(first["title"]) == 200 and len(first["form_data"]["narration"]) == 4000
    assert first["form_data"]["duration_s"] == 30
    assert first["form_data"]["camera_movement"] == "push_in"  # "dolly ... into": the nearest recommended one
    assert first["form_data"]["shot_size"] == "where" and "lighting" not in first["form_data"]
    assert "camera_movement" not in second["form_data"]  # nothing near: left out
    assert second["title"] == "rain" and 3 <= second["form_data"]["duration_s"] <= 8
    assert third["form_data"]["camera_movement"] == "pan_left"


def test_nearest_camera() -> None:
    assert [nearest_camera(v) for v in ("push_in", "Dolly-Out", "zoom in", "tracking shot", "jib down", 5)] == [
        "push_in",
        "pull_out",
        "push_in",
        "pan_right",
        "crane_down",
        None,
    ]


def test_parse_storyboard_accepts_json_and_refuses_prose() -> None:
    shots = [{"prompt": "a"}]
    assert parse_storyboard("Sure! " + json.dumps({"shots": shots}) + " Enjoy.") == shots
    assert parse_storyboard(json.dumps(shots)) == shots
    for broken in ("I cannot do that.", '{"shots": [ {"prompt": ', '{"shots": "none"}', ""):
        with pytest.raises(AppError) as raised:
            parse_storyboard(broken)
        assert raised.value.code == "provider_error"


def test_clean_shot_never_lets_a_form_over_the_limits_through() -> None:
    assert clean_shot({"prompt": "p" * 4000, "narration": "n" * 4000, "title": "t"}, 0, "s" * 200) is not None
