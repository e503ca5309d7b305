"""The one recording every call shares: a short, valid WAV tone, generated once."""

from __future__ import annotations

import functools
import io
import math
import struct
import wave

SAMPLE_RATE = 8_000  # telephone quality keeps the file small (about 32 KB)


@functools.cache
def recording_wav(seconds: float = 2.0, frequency: float = 440.0) -> bytes:
    frames = int(SAMPLE_RATE * seconds)
    fade = SAMPLE_RATE // 20  # 50 ms ramps, so the tone starts and stops without a click
    samples = bytearray()
    for i in range(frames):
        envelope = min(1.0, i / fade, (frames - i) / fade)
        value = int(12_000 * envelope * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE))
        samples += struct.pack("<h", value)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(samples))
    return buffer.getvalue()
