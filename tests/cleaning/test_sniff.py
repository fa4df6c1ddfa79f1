"""Content sniffing: broken media is told from files that are not media at all."""

import random
import subprocess

import pytest

from cleaning.sniff import WINDOW, describe, sniff, sniff_file


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    """A small MP4 with its index at the front (fast start), as the crawler downloads them."""
    path = tmp_path_factory.mktemp("sniff") / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10", "-t", "2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(path)], check=True)
    return path.read_bytes()


NOT_MEDIA = {
    "text": (b"this is not a video\n" * 20, "text"),
    "html": (b"<!DOCTYPE html>\n<html><body><h1>403 Forbidden</h1></body></html>\n", "text"),
    "json": (b'{"status_code": 2053, "status_msg": "video not found"}', "text"),
    "utf8": ("视频不存在，请稍后再试。\n".encode() * 30, "text"),
    "text_like_riff": (b"RIFF raff, a text that starts like a WAV file\n", "text"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "image"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200), "image"),
    "heic": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "image"),
    "zip": (b"PK\x03\x04\x14\x00\x00\x00" + bytes(100), "data"),
    "elf": (b"\x7fELF\x02\x01\x01\x00" + bytes(100), "data"),
    "random": (random.Random(0).randbytes(200_000), "data"),
}


@pytest.mark.parametrize("name", sorted(NOT_MEDIA))
def test_not_media(name):
    data, kind = NOT_MEDIA[name]
    found = sniff(data[:WINDOW], data[-WINDOW:], len(data))
    assert (found.kind, found.is_media) == (kind, False), found


def test_broken_media_is_media(mp4):
    cases = {
        "truncated": mp4[: len(mp4) * 6 // 10],
        "ftyp_only": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
        "first_bytes_wrong": b"\x89PNG\r\n\x1a\n" + mp4[8:],  # a picture's magic over an MP4: the boxes remain
        "zip_magic": b"PK\x03\x04" + mp4[4:],
        "matroska": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + bytes(40),
        "mpeg_ts": b"".join(b"\x47" + bytes(187) for _ in range(4)),
        "adts": b"\xff\xf1\x50\x80" + bytes(60),
        "mp3_id3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(60),
        "riff_avi": b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(60),
    }
    for name, data in cases.items():
        found = sniff(data[:WINDOW], data[-WINDOW:], len(data))
        assert found.is_media, (name, found)
    assert sniff(mp4).family == "mp4"
    assert sniff(cases["matroska"]).family == "matroska"


def test_an_mp4_with_its_index_at_the_end_is_found_from_its_tail(tmp_path):
    path = tmp_path / "tail.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-t", "4",
                    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", str(path)], check=True)
    data = bytearray(path.read_bytes())
    assert len(data) > 2 * WINDOW
    data[:WINDOW] = bytes(WINDOW)  # the head wiped out: only the index at the end says MP4
    path.write_bytes(bytes(data))
    assert sniff_file(path).is_media
    assert not sniff(bytes(data[:WINDOW])).is_media


def test_descriptions():
    found = sniff(b"<html>\n  <body>gone</body>\n</html>")
    assert describe(found) == "text, not media (starts '<html> <body>gone</body> </html>')"
    assert describe(sniff(b"\x89PNG\r\n\x1a\n" + bytes(16))) == "a picture (png), not a video"
    assert describe(sniff(b"\x7fELF\x02\x01\x01\x00")) == "no media signature (starts 7f 45 4c 46 02 01 01 00)"
