"""Benchmark: the cleaning stage's OpenCV perceptual hash against the `imagehash` library's pHash.

Frames from the real music-video clips (5 per clip) are hashed both ways; prints the time per frame,
how far the two hashes are apart, and whether both make the same near-duplicate decision (Hamming
distance <= --threshold) for every pair of frames. Writes bench/out/phash.json. Skips with a message
when the shared clips or `imagehash` (dev extra) are missing.

    .venv/bin/python bench/bench_phash.py --clips 20
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO.parent / "shared" / "data" / "music_video_train"
sys.path.insert(0, str(REPO))


def _frames(clips: list[Path], per_clip: int):
    import cv2

    frames = []
    for clip in clips:
        capture = cv2.VideoCapture(str(clip))
        for k in range(per_clip):
            capture.set(cv2.CAP_PROP_POS_FRAMES, 30 * (k + 1))
            ok, frame = capture.read()
            if ok:
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
        capture.release()
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--threshold", type=int, default=10, help="Hamming distance that counts as near-duplicate.")
    args = parser.parse_args()
    clips = sorted(CLIPS.glob("*.mp4"))[: args.clips]
    if not clips:
        print(f"skipped: no clips in {CLIPS.name} beside the project (the shared data folder)")
        return
    try:
        import imagehash
        from PIL import Image
    except ImportError:
        print("skipped: imagehash is not installed (pip install 'emotions[dev]')")
        return
    from cleaning.frames import phash

    frames = _frames(clips, 5)
    t0 = time.perf_counter()
    ours = [phash(f) for f in frames]
    t_ours = (time.perf_counter() - t0) / len(frames)
    t0 = time.perf_counter()
    theirs = [int(str(imagehash.phash(Image.fromarray(f))), 16) for f in frames]
    t_theirs = (time.perf_counter() - t0) / len(frames)
    same = total = 0
    for i, j in itertools.combinations(range(len(frames)), 2):
        a = bin(ours[i] ^ ours[j]).count("1") <= args.threshold
        b = bin(theirs[i] ^ theirs[j]).count("1") <= args.threshold
        same += a == b
        total += 1
    result = {"frames": len(frames), "opencv_us_per_frame": round(1e6 * t_ours), "imagehash_us_per_frame":
              round(1e6 * t_theirs), "speedup": round(t_theirs / t_ours, 1), "pairs": total,
              "same_decision": same, "threshold": args.threshold}
    print(json.dumps(result))
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "phash.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
