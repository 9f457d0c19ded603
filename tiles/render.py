"""PNG map tiles from vector layers: PostGIS clips, simplifies and scales, Pillow draws.

The tile query (``tiles.mvt`` with output "wkb") returns each feature already in pixel
coordinates of a tile drawn at 4× (1024 px), so Python only rasterises. Drawing at 4× and
reducing with a box filter on premultiplied alpha gives anti-aliased edges with Pillow alone
(already a dependency, no C library to ship); text is anti-aliased by FreeType directly at 1×.
Chinese labels need a CJK font: WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``) or Noto
Sans CJK (``fonts-noto-cjk``); without one, labels fall back to Pillow's font (no CJK).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import shapely
from PIL import Image, ImageColor, ImageDraw, ImageFont
from shapely.geometry.base import BaseGeometry

from tiles.mvt import RENDER_SCALE, TILE_PX
from tiles.styles import Style

CANVAS_PX = TILE_PX * RENDER_SCALE
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
Feature = tuple[bytes, str | None, bytes | None]  # geometry WKB, label, label anchor WKB
RGBA = tuple[int, int, int, int]


def rgba(colour: str, opacity: float = 1.0) -> RGBA:
    red, green, blue = ImageColor.getrgb(colour)[:3]
    return red, green, blue, round(255 * max(0.0, min(opacity, 1.0)))


@cache
def label_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in CJK_FONTS:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def cjk_font_available() -> bool:
    return any(Path(candidate).exists() for candidate in CJK_FONTS)


def render_vector(features: Sequence[Feature], style: Style, labels: bool) -> bytes | None:
    """The PNG of one tile, or None when nothing falls in it (the caller answers 204)."""
    shapes = [(shapely.from_wkb(wkb), label, anchor) for wkb, label, anchor in features if wkb]
    if not shapes:
        return None
    fills = Image.new("RGBA", (CANVAS_PX, CANVAS_PX), (0, 0, 0, 0))
    strokes = Image.new("RGBA", (CANVAS_PX, CANVAS_PX), (0, 0, 0, 0))
    fill_draw, stroke_draw = ImageDraw.Draw(fills), ImageDraw.Draw(strokes)
    for geometry, _, _ in shapes:
        _draw(geometry, style, fills, fill_draw, stroke_draw)
    canvas = Image.alpha_composite(_fade(fills, style.fill_opacity), strokes)
    image = canvas.convert("RGBa").resize((TILE_PX, TILE_PX), Image.Resampling.BOX)
    image = image.convert("RGBA")
    if labels and style.label_field:
        _draw_labels(image, [(label, anchor) for _, label, anchor in shapes], style)
    return png_bytes(image)


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


@cache
def transparent_png() -> bytes:
    """A fully transparent tile: the answer for an empty PNG tile inside a tileset's limits
    (Leaflet and many viewers show a 204 as a broken tile)."""
    return png_bytes(Image.new("RGBA", (TILE_PX, TILE_PX), (0, 0, 0, 0)))


def _fade(layer: Image.Image, opacity: float) -> Image.Image:
    """One opacity for a whole fill layer, so overlapping polygons do not darken each other."""
    if opacity >= 1.0:
        return layer
    alpha = layer.getchannel("A").point(lambda value: round(value * opacity))
    layer.putalpha(alpha)
    return layer


def _draw(
    geometry: BaseGeometry,
    style: Style,
    fills: Image.Image,
    fill_draw: ImageDraw.ImageDraw,
    stroke_draw: ImageDraw.ImageDraw,
) -> None:
    kind = geometry.geom_type
    if kind.startswith("Multi") or kind == "GeometryCollection":
        for part in geometry.geoms:
            _draw(part, style, fills, fill_draw, stroke_draw)
    elif kind == "Polygon":
        _draw_polygon(geometry, style, fills, fill_draw, stroke_draw)
    elif kind == "LineString":
        _stroke(stroke_draw, geometry.coords, style)
    elif kind == "Point":
        _draw_point(fill_draw, stroke_draw, geometry, style)


def _draw_polygon(
    polygon: BaseGeometry,
    style: Style,
    fills: Image.Image,
    fill_draw: ImageDraw.ImageDraw,
    stroke_draw: ImageDraw.ImageDraw,
) -> None:
    exterior = list(polygon.exterior.coords)
    holes = [list(ring.coords) for ring in polygon.interiors]
    if style.fill and len(exterior) >= 3:
        colour = rgba(style.fill)
        if holes:
            # Holes are cut through a mask so they never erase a neighbour's fill.
            mask = Image.new("L", fills.size, 0)
            mask_draw = ImageDraw.Draw(mask)
            mask_draw.polygon(exterior, fill=255)
            for hole in holes:
                mask_draw.polygon(hole, fill=0)
            fills.paste(Image.new("RGBA", fills.size, colour), (0, 0), mask)
        else:
            fill_draw.polygon(exterior, fill=colour)
    if style.stroke:
        for ring in (exterior, *holes):
            _stroke(stroke_draw, ring, style)


def _stroke(draw: ImageDraw.ImageDraw, coords: Iterable[Sequence[float]], style: Style) -> None:
    points = [tuple(point[:2]) for point in coords]
    if style.stroke and len(points) >= 2:
        width = max(1, round(style.stroke_width * RENDER_SCALE))
        draw.line(points, fill=rgba(style.stroke, style.stroke_opacity), width=width, joint="curve")


def _draw_point(
    fill_draw: ImageDraw.ImageDraw,
    stroke_draw: ImageDraw.ImageDraw,
    point: BaseGeometry,
    style: Style,
) -> None:
    x, y = point.x, point.y
    radius = style.point_radius * RENDER_SCALE
    box = (x - radius, y - radius, x + radius, y + radius)
    fill = rgba(style.fill or style.stroke or "#000000")
    outline = rgba(style.stroke) if style.stroke else None
    width = max(1, round(style.stroke_width * RENDER_SCALE))
    stroke_draw.ellipse(box, fill=fill, outline=outline, width=width if outline else 0)


def _draw_labels(
    image: Image.Image, labels: Sequence[tuple[str | None, bytes | None]], style: Style
) -> None:
    """Each label at its feature's anchor, only if it fits inside the tile (never cut)."""
    draw = ImageDraw.Draw(image)
    font = label_font(style.label_size)
    taken: list[tuple[float, float, float, float]] = []
    for text, anchor in labels:
        if not text or not anchor:
            continue
        point = shapely.from_wkb(anchor)
        x, y = point.x / RENDER_SCALE, point.y / RENDER_SCALE
        left, top, right, bottom = draw.textbbox(
            (x, y), text, font=font, anchor="mm", stroke_width=2
        )
        box = (left, top, right, bottom)
        if left < 0 or top < 0 or right > TILE_PX or bottom > TILE_PX or _overlaps(box, taken):
            continue
        taken.append(box)
        draw.text(
            (x, y),
            text,
            font=font,
            anchor="mm",
            fill=rgba(style.label_color),
            stroke_width=2,
            stroke_fill=rgba(style.label_halo),
        )


def _overlaps(box: tuple[float, ...], taken: Sequence[tuple[float, ...]]) -> bool:
    return any(
        box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]
        for other in taken
    )
