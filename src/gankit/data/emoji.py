"""`emoji`: a labelled set of small colour pictures, rendered on this machine from Debian's Noto Color Emoji font.

Every fully-qualified emoji of Unicode's emoji-test.txt (Debian `unicode-data`; 3,655 in Unicode 15.0) drawn by
Pillow with its raqm layout, which joins ZWJ sequences and skin-tone modifiers into one glyph as a phone shows them;
cropped to the glyph, centred in a transparent square, 64 px RGBA PNG. The class is the emoji's Unicode group (nine:
the Component group holds no fully-qualified emoji); its subgroup (99, e.g. face-smiling, animal-bird, country-flag)
is in the file's name, for the classifier whose features score GANs on emoji (gankit.metrics.features). One emoji in ten is held out, chosen by a hash of the emoji
without its skin tones, so an emoji and its skin-tone variants are always on the same side.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from gankit.atomic import made_in_place
from gankit.errors import GankitError

EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
# Unicode's groups in its own order; Component (skin tones and hair styles alone) has no fully-qualified emoji
GROUPS = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places", "Activities",
          "Objects", "Symbols", "Flags")
SIDE = 64
# Noto Color Emoji is a bitmap font drawn at this size only (136 x 128 px glyphs)
FONT_SIZE = 109
SKIN_TONES = range(0x1F3FB, 0x1F400)
# one emoji in TEST_EVERY is held out
TEST_EVERY = 10


@dataclass(frozen=True)
class Emoji:
    codepoints: tuple[int, ...]
    group: str
    name: str
    subgroup: str = ""  # Unicode's finer grouping (face-smiling, animal-mammal, country-flag, ...): 99 of them

    @property
    def text(self) -> str:
        return "".join(map(chr, self.codepoints))

    @property
    def split(self) -> str:
        """"test" for one emoji in TEST_EVERY, by a hash of its code points without skin tones."""
        toneless = "-".join(f"{c:x}" for c in self.codepoints if c not in SKIN_TONES)
        return "test" if int(hashlib.sha256(toneless.encode()).hexdigest(), 16) % TEST_EVERY == 0 else "train"

    @property
    def path(self) -> str:
        return f"{self.split}/{self.group}/{self.subgroup}_{'-'.join(f'{c:04x}' for c in self.codepoints)}.png"


def subgroup_of(path: Path) -> str:
    """The Unicode subgroup in an emoji picture's name (<subgroup>_<code points>.png)."""
    subgroup, _, points = path.stem.partition("_")
    if not subgroup or not points:
        raise GankitError(f"{path} is not named as `gankit data emoji` names pictures (subgroup_codepoints.png); "
                          "delete the set and make it again")
    return subgroup


def read_emoji_list(path: Path = EMOJI_TEST) -> list[Emoji]:
    """Every fully-qualified emoji in an emoji-test.txt, with its group, in the file's order."""
    if not path.is_file():
        raise GankitError(f"no emoji list at {path}: apt install unicode-data (Debian, Ubuntu)")
    group, subgroup, found = "", "", []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif "; fully-qualified" in line and group in GROUPS:
            points, comment = line.split(";", 1)[0], line.split("#", 1)[-1]
            found.append(Emoji(tuple(int(p, 16) for p in points.split()), group, comment.strip(), subgroup))
    if not found:
        raise GankitError(f"{path} lists no fully-qualified emoji in Unicode's groups; it is not an emoji-test.txt")
    return found


def emoji_font(path: Path = FONT):
    """The colour emoji font, laid out by raqm (without it, ZWJ sequences come out as several glyphs)."""
    from PIL import ImageFont, features

    if not path.is_file():
        raise GankitError(f"no emoji font at {path}: apt install fonts-noto-color-emoji (Debian, Ubuntu)")
    if not features.check("raqm"):
        raise GankitError("this Pillow lays out text without raqm, so emoji sequences would not join: install "
                          "Pillow's wheel (pip install --force-reinstall pillow) or libraqm0")
    return ImageFont.truetype(str(path), FONT_SIZE, layout_engine=ImageFont.Layout.RAQM)


def render(emoji: Emoji, font, side: int = SIDE):
    """One emoji as a `side` px RGBA picture: the glyph cropped to what it draws, centred in a transparent square."""
    from PIL import Image, ImageDraw

    left, top, right, bottom = font.getbbox(emoji.text)
    canvas = Image.new("RGBA", (right - left + 8, bottom - top + 8), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), emoji.text, font=font, embedded_color=True)
    box = canvas.getchannel("A").getbbox()
    if box is None:
        raise GankitError(f"{FONT.name} draws nothing for {emoji.name} ({emoji.text!r}); use Debian's "
                          "fonts-noto-color-emoji of the same Unicode version as unicode-data")
    glyph = canvas.crop(box)
    square = Image.new("RGBA", (max(glyph.size),) * 2, (0, 0, 0, 0))
    square.paste(glyph, ((square.width - glyph.width) // 2, (square.height - glyph.height) // 2))
    return square.resize((side, side), Image.Resampling.LANCZOS)  # Pillow resamples RGBA premultiplied


def make_emoji(out: Path, emoji_test: Path = EMOJI_TEST, font_path: Path = FONT, limit: int | None = None,
               progress: bool = True) -> dict[str, int]:
    """Write out/<split>/<group>/<code points>.png; returns pictures per split. `limit` keeps that many, spread
    evenly over the list (for tests). Made in a sibling folder and renamed into place."""
    font = emoji_font(font_path)
    emoji = read_emoji_list(emoji_test)
    if limit is not None:
        emoji = emoji[:: max(1, len(emoji) // limit)][:limit]
    with made_in_place(out) as building:
        for one in tqdm(emoji, desc="drawing emoji", unit="emoji", disable=not progress):
            path = building / one.path
            path.parent.mkdir(parents=True, exist_ok=True)
            render(one, font).save(path)
    return {split: sum(e.split == split for e in emoji) for split in ("train", "test")}
