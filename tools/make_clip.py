"""Writes stylekit/data/clip_coffee.mp4, the test clip for video: real motion and occlusion, made from a bundled photo.

The camera pans across content_coffee.jpg while a ball cut from content_rocket.jpg rolls across the scene the
other way, hiding and then uncovering the cup (disocclusions); a 440 Hz tone is its audio track, so that a
test can check the audio is copied unchanged. 48 frames, 12 frames/s, 192×128, H.264 + AAC:

    python tools/make_clip.py   # a tool for the project (it needs PyAV); the clip it writes ships in the package
"""

from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

DATA = Path(__file__).resolve().parent.parent / "stylekit" / "data"
FRAMES, FPS, WIDTH, HEIGHT = 48, 12, 192, 128
SAMPLE_RATE = 44100


def frame(i, scene, ball, mask):
    t = i / (FRAMES - 1)
    left = round(t * (scene.width - WIDTH))  # the camera pans right
    picture = scene.crop((left, 0, left + WIDTH, HEIGHT)).copy()
    x = round(WIDTH - t * (WIDTH + ball.width))  # the ball rolls left, across the whole view
    y = HEIGHT // 2 - ball.height // 2 + round(12 * np.sin(2 * np.pi * t))
    picture.paste(ball.rotate(-360 * t), (x, y), mask)
    return picture


def main(path=DATA / "clip_coffee.mp4"):
    coffee = Image.open(DATA / "content_coffee.jpg").convert("RGB")
    scene = coffee.resize((round(coffee.width * HEIGHT / coffee.height), HEIGHT), Image.LANCZOS)
    rocket = Image.open(DATA / "content_rocket.jpg").convert("RGB")
    ball = rocket.crop((220, 60, 420, 260)).resize((56, 56), Image.LANCZOS)
    mask = Image.new("L", ball.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, ball.width - 1, ball.height - 1), fill=255)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS, options={"crf": "23"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        for i in range(FRAMES):
            container.mux(video.encode(av.VideoFrame.from_image(frame(i, scene, ball, mask))))
        container.mux(video.encode())
        seconds = np.arange(FRAMES * SAMPLE_RATE // FPS) / SAMPLE_RATE
        tone = (0.2 * np.sin(2 * np.pi * 440 * seconds)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = SAMPLE_RATE, start
            container.mux(audio.encode(chunk))
        container.mux(audio.encode())
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
