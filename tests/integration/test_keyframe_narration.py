"""The ``keyframe`` and ``narration`` kinds offline (PROTOCOL.md 8.3, 8.5): the local painter's picture attached as
an upload is (every connection hears it, the file is served and is a real picture of the asked size), the local
voice's narration stored as the server-owned ``narration_audio`` (a real, non-silent WAV of the stated length),
the errors at start, and ``narration_audio`` being ``forbidden_field`` in updates."""

from __future__ import annotations

import io
import wave
from array import array

import pytest
from PIL import Image, ImageStat

from tests.integration.test_jobs import finished
from tests.support import LiveServer, Message, WsClient

pytestmark = pytest.mark.slow


def updated(workspace_id: str, key: str) -> object:
    return lambda m: m["type"] == "workspace.updated" and m["workspace_id"] == workspace_id and key in m["changes"]


async def job(client: WsClient, kind: str, workspace_id: str, **params: object) -> Message:
    reply = await client.request({"type": "job.start", "kind": kind, "workspace_id": workspace_id, "params": params})
    assert reply["type"] == "job.status_update", reply
    return reply["job"]


async def test_a_keyframe_is_painted_and_attached_like_an_upload(server: LiveServer) -> None:
    a = await server.connect("kf")
    b = await server.connect("kf")
    shot = await a.create(title="Beach", form_data={"prompt": "a girl on a beach", "shot_size": "wide",
                                                     "lighting": "golden_hour", "aspect_ratio": "9:16"})  # fmt: skip
    started = await job(a, "keyframe", shot["id"], seed=7)
    assert started["params"] == {"seed": 7, "provider": "local"}
    done = await finished(a, started["id"], timeout=30)
    assert done["job"]["status"] == "completed", done
    result = done["job"]["result"]
    assert (result["width"], result["height"]) == (720, 1280) and result["image_path"].startswith("uploads/")
    for client in (a, b):  # the starter too: a job's change has no sender
        heard = await client.expect(updated(shot["id"], "image_path"), timeout=10)
        assert heard["changes"]["image_path"] == result["image_path"]
    async with server.http() as http:
        picture = await http.get(result["image_url"])
    assert picture.status_code == 200
    image = Image.open(io.BytesIO(picture.content))
    assert image.size == (720, 1280)
    assert max(ImageStat.Stat(image.convert("L")).stddev) > 10  # not a flat box
    listed = (await a.request({"type": "workspace.list"}))["workspaces"][0]
    assert listed["image_path"] == result["image_path"]


async def test_start_errors_of_the_two_kinds(server: LiveServer) -> None:
    a = await server.connect("kfe")
    shot = await a.create(title="x")
    for fields, code in (
        ({"type": "job.start", "kind": "keyframe"}, "invalid_message"),  # no workspace
        ({"type": "job.start", "kind": "keyframe", "workspace_id": "0" * 24}, "not_found"),
        ({"type": "job.start", "kind": "keyframe", "workspace_id": shot["id"], "params": {"bogus": 1}},
         "invalid_message"),
        ({"type": "job.start", "kind": "keyframe", "workspace_id": shot["id"], "params": {"provider": "nope"}},
         "invalid_message"),
        ({"type": "job.start", "kind": "keyframe", "workspace_id": shot["id"], "params": {"provider": "openai"}},
         "unavailable"),  # no key
        ({"type": "job.start", "kind": "narration", "workspace_id": shot["id"], "params": {"text": ""}},
         "invalid_message"),
    ):  # fmt: skip
        reply = await a.request(fields)
        assert reply["type"] == "error" and reply["code"] == code, (fields, reply)
    nothing = await job(a, "narration", shot["id"])  # no narration text anywhere: the job fails
    done = await finished(a, nothing["id"], timeout=30)
    assert done["job"]["status"] == "failed" and done["job"]["error"]["code"] == "invalid_message"
    refused = await a.request(
        {"type": "workspace.update", "workspace_id": shot["id"], "updates": {"narration_audio": {"url": "/x"}}}
    )
    assert refused["code"] == "forbidden_field"


async def test_narration_is_spoken_and_stored_as_narration_audio(server: LiveServer) -> None:
    a = await server.connect("nar")
    b = await server.connect("nar")
    text = "The sun sets over the sea, and a girl walks along the beach."
    shot = await a.create(title="Sea", form_data={"prompt": "sea", "narration": text})
    started = await job(a, "narration", shot["id"])
    done = await finished(a, started["id"], timeout=60)
    assert done["job"]["status"] == "completed", done
    audio = done["job"]["result"]
    assert audio["text"] == text and audio["provider"] == "local" and audio["url"].startswith("/media/")
    assert 1.5 < audio["duration_s"] < 12
    for client in (a, b):
        heard = await client.expect(updated(shot["id"], "narration_audio"), timeout=10)
        assert heard["changes"]["narration_audio"] == audio
    async with server.http() as http:
        served = await http.get(audio["url"])
        history = (await http.get(f"/api/workspaces/{shot['id']}/history")).json()["entries"]
    assert served.status_code == 200
    with wave.open(io.BytesIO(served.content)) as wav:
        frames = wav.readframes(wav.getnframes())
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        assert abs(wav.getnframes() / wav.getframerate() - audio["duration_s"]) < 0.05
    samples = array("h", frames)
    rms = (sum(s * s for s in samples) / len(samples)) ** 0.5 / 32768
    assert rms > 0.02  # a voice, not silence
    assert [e["version"] for e in history] == [1]  # server-owned: no history entry
    listed = (await b.request({"type": "workspace.list"}))["workspaces"][0]
    assert listed["narration_audio"] == audio
