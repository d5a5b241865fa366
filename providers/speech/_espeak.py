"""A minimal ctypes binding of libespeak-ng as the ``espeakng-loader`` wheel ships it (the library and its data,
nothing downloaded): synchronous synthesis of UTF-8 text into 16-bit mono PCM, for the languages the bundled
neural voice does not speak. Robotic, but ~100 languages.

libespeak-ng keeps global state (one voice, one audio callback), so ``load_espeak`` gives one ``Espeak`` per library per
process (a second one would steal the first one's callback), every call under its lock.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # without it a missing data file makes espeak-ng call exit()
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAMETER_RATE = 1  # words per minute
DEFAULT_RATE_WPM = 175
RATE_RANGE_WPM = (80, 450)

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_loaded: dict[str, Espeak] = {}
_loaded_lock = threading.Lock()


def load_espeak(library: str, data_dir: str) -> Espeak:
    """The one ``Espeak`` of this library in this process, initialised on first use."""
    with _loaded_lock:
        if library not in _loaded:
            _loaded[library] = Espeak(library, data_dir)
        return _loaded[library]


class Espeak:
    """One initialised libespeak-ng (get it with ``load_espeak``). ``synthesize`` returns raw PCM at ``sample_rate``; an
    unknown voice raises ``LookupError``, any other failure ``RuntimeError``."""

    def __init__(self, library: str, data_dir: str) -> None:
        lib = ctypes.CDLL(library)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        # The path is the folder that holds espeak-ng-data.
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(Path(data_dir).parent).encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise RuntimeError(f"espeak-ng did not initialise (status {rate})")
        self.sample_rate = rate
        self._lib = lib
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._callback = _SynthCallback(self._on_audio)  # kept referenced: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav: ctypes._Pointer[ctypes.c_short], samples: int, _events: int | None) -> int:
        if samples > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, samples * 2))
        return 0  # 0: go on

    def has_voice(self, name: str) -> bool:
        with self._lock:
            status: int = self._lib.espeak_SetVoiceByName(name.encode())
            return status == 0

    def synthesize(self, text: str, voice: str, *, rate_wpm: int = DEFAULT_RATE_WPM) -> bytes:
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise LookupError(voice)
            low, high = RATE_RANGE_WPM
            self._lib.espeak_SetParameter(_PARAMETER_RATE, min(high, max(low, rate_wpm)), 0)
            self._chunks = []
            data = text.encode("utf-8") + b"\0"
            status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if status != 0:
                raise RuntimeError(f"espeak-ng could not synthesize (status {status})")
            self._lib.espeak_Synchronize()
            pcm, self._chunks = b"".join(self._chunks), []
            return pcm
