#!/usr/bin/env python3
"""Make the 20 robustness variants of shared/corpus/dev/README.md with Pillow.

For every original in IN_DIR (or only the ids given with --ids), writes
OUT_DIR/<id>__<transform>.<ext>, following the README's table "Variants to generate" as
literally as Pillow allows. The held-out evaluation makes its variants with Python and Pillow;
this script is the team's reference for what `hashmatch::eval::transforms` reproduces in Rust,
and makes the same choices where the README leaves them open (see that module's doc):

  watermark     black at alpha 128 over a box round(0.30 w) x round(0.09 h) flush with the
                bottom-right corner, a yellow dot and "SAMPLE" in white (Pillow's default
                FreeType font, cap height 45 % of the box)
  letterbox10   round(0.1 h) black rows above and below (the output is taller)
  screenshot    same size as the original: a (235, 235, 235) window, a (40, 40, 40) title bar
                6 % of the height with three dots, the image at 70 % (Lanczos) centred below it
  meme          "TOP TEXT" / "BOTTOM TEXT" in white with a black stroke, cap height 11 % of the
                height (narrowed to 94 % of the width), 4 % of the height from the edges

Requires Pillow (with FreeType, as in the PyPI wheels). Usage:

  make_variants.py IN_DIR OUT_DIR [--ids ID ...] [--transforms NAME ...]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def side(n: int, scale: float) -> int:
    """A side scaled the way a Pillow script rounds it (Python's round: halves to even)."""
    return max(1, round(n * scale))


def resize(im: Image.Image, scale: float) -> Image.Image:
    return im.resize((side(im.width, scale), side(im.height, scale)), Image.Resampling.LANCZOS)


def centre_crop(im: Image.Image, share: float) -> Image.Image:
    f = math.sqrt(share)
    w, h = im.size
    cw, ch = min(w, side(w, f)), min(h, side(h, f))
    left, top = (w - cw) // 2, (h - ch) // 2
    return im.crop((left, top, left + cw, top + ch))


def fitted_font(text: str, cap_height: float, max_width: float) -> ImageFont.ImageFont:
    """Pillow's default font at the size where `text` (capitals) is `cap_height` pixels high,
    made smaller if it would be wider than `max_width`."""
    left, top, right, bottom = ImageFont.load_default(size=100).getbbox(text)
    size = 100 * cap_height / max(1, bottom - top)
    size = min(size, 100 * max_width / max(1, right - left))
    return ImageFont.load_default(size=max(1.0, size))


def draw_text(draw, xy, text, font, fill, stroke_width=0, stroke_fill=None) -> None:
    """Draws `text` with its ink box (without the stroke) starting at `xy`."""
    left, top, _, _ = draw.textbbox((0, 0), text, font=font)
    draw.text((xy[0] - left, xy[1] - top), text, font=font, fill=fill,
              stroke_width=stroke_width, stroke_fill=stroke_fill)


def disc(draw, cx: float, cy: float, r: float, fill) -> None:
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)


def watermark(im: Image.Image) -> Image.Image:
    w, h = im.size
    bw, bh = side(w, 0.30), side(h, 0.09)
    x0, y0 = w - bw, h - bh
    overlay = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((x0, y0, w - 1, h - 1), fill=(0, 0, 0, 128))
    disc(draw, x0 + 0.5 * bh, y0 + 0.5 * bh, 0.25 * bh, (255, 210, 0, 255))
    font = fitted_font("SAMPLE", 0.45 * bh, bw - 1.25 * bh)
    _, top, _, bottom = draw.textbbox((0, 0), "SAMPLE", font=font)
    draw_text(draw, (x0 + bh, y0 + (bh - (bottom - top)) // 2), "SAMPLE", font,
              (255, 255, 255, 255))
    return Image.alpha_composite(im.convert("RGBA"), overlay).convert("RGB")


def letterbox(im: Image.Image, share: float) -> Image.Image:
    bar = round(im.height * share)
    out = Image.new("RGB", (im.width, im.height + 2 * bar), (0, 0, 0))
    out.paste(im, (0, bar))
    return out


def screenshot(im: Image.Image) -> Image.Image:
    w, h = im.size
    shot = resize(im, 0.7)
    bar = side(h, 0.06)
    out = Image.new("RGB", (w, h), (235, 235, 235))
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, w - 1, bar - 1), fill=(40, 40, 40))
    for i, colour in enumerate([(255, 95, 87), (254, 188, 46), (40, 200, 64)]):
        disc(draw, bar * (0.6 + 0.7 * i), bar * 0.5, bar * 0.22, colour)
    out.paste(shot, ((w - shot.width) // 2, bar + max(0, h - bar - shot.height) // 2))
    return out


def meme(im: Image.Image) -> Image.Image:
    w, h = im.size
    out = im.copy()
    draw = ImageDraw.Draw(out)
    cap = 0.11 * h
    stroke = 1 if cap < 24 else 2
    margin = round(h * 0.04)
    for text, at_top in (("TOP TEXT", True), ("BOTTOM TEXT", False)):
        font = fitted_font(text, cap, 0.94 * w)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        x = (w - (right - left)) // 2
        y = margin if at_top else h - margin - (bottom - top)
        draw_text(draw, (x, y), text, font, (255, 255, 255), stroke, (0, 0, 0))
    return out


# name -> (extension, function of the RGB original returning (image, save options))
TRANSFORMS = {
    "jpeg_q30": ("jpg", lambda im: (im, {"quality": 30})),
    "jpeg_q70": ("jpg", lambda im: (im, {"quality": 70})),
    "resize_50": ("jpg", lambda im: (resize(im, 0.5), {"quality": 90})),
    "resize_25": ("jpg", lambda im: (resize(im, 0.25), {"quality": 90})),
    "crop_90": ("jpg", lambda im: (centre_crop(im, 0.90), {"quality": 90})),
    "crop_75": ("jpg", lambda im: (centre_crop(im, 0.75), {"quality": 90})),
    # Pillow's ROTATE_n turns anticlockwise: clockwise 90 is ROTATE_270.
    "rot90": ("jpg", lambda im: (im.transpose(Image.Transpose.ROTATE_270), {"quality": 90})),
    "rot180": ("jpg", lambda im: (im.transpose(Image.Transpose.ROTATE_180), {"quality": 90})),
    "rot270": ("jpg", lambda im: (im.transpose(Image.Transpose.ROTATE_90), {"quality": 90})),
    "hflip": ("jpg", lambda im: (im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), {"quality": 90})),
    "gray": ("jpg", lambda im: (im.convert("L"), {"quality": 90})),
    "blur_r2": ("jpg", lambda im: (im.filter(ImageFilter.GaussianBlur(2)), {"quality": 90})),
    "bright_p30": ("jpg", lambda im: (ImageEnhance.Brightness(im).enhance(1.3), {"quality": 90})),
    "contrast_m30": ("jpg", lambda im: (ImageEnhance.Contrast(im).enhance(0.7), {"quality": 90})),
    "watermark": ("jpg", lambda im: (watermark(im), {"quality": 90})),
    "letterbox10": ("jpg", lambda im: (letterbox(im, 0.1), {"quality": 90})),
    # Positive angles turn anticlockwise; the canvas keeps its size, the corners are black.
    "rot5": ("jpg", lambda im: (im.rotate(-5, resample=Image.Resampling.BILINEAR), {"quality": 90})),
    "webp": ("webp", lambda im: (im, {"quality": 80})),
    "screenshot": ("png", lambda im: (screenshot(im), {})),
    "meme": ("jpg", lambda im: (meme(im), {"quality": 85})),
}

FORMATS = {"jpg": "JPEG", "webp": "WEBP", "png": "PNG"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("in_dir", type=Path, help="folder of originals (<id>.<ext>)")
    parser.add_argument("out_dir", type=Path, help="where <id>__<transform>.<ext> go")
    parser.add_argument("--ids", nargs="+", help="only these ids (file names without extension)")
    parser.add_argument("--transforms", nargs="+", choices=list(TRANSFORMS), metavar="NAME",
                        help="only these transforms (default: all 20)")
    args = parser.parse_args()

    originals = sorted(p for p in args.in_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if args.ids:
        by_id = {p.stem: p for p in originals}
        missing = [i for i in args.ids if i not in by_id]
        if missing:
            parser.error(f"not in {args.in_dir}: {', '.join(missing)}")
        originals = [by_id[i] for i in args.ids]
    names = args.transforms or list(TRANSFORMS)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    for path in originals:
        with Image.open(path) as opened:
            im = opened.convert("RGB")
        for name in names:
            ext, make = TRANSFORMS[name]
            variant, options = make(im)
            variant.save(args.out_dir / f"{path.stem}__{name}.{ext}", FORMATS[ext], **options)
    print(f"{len(originals)} originals x {len(names)} transforms -> {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
