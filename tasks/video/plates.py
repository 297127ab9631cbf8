"""Background plates: one recognisable set per location, lit by the time of day.

A plate is drawn as albedo (surface colours), a sky layer seen where no surface was drawn, and an emissive
layer (lit windows, lamps, screens), then lit: ``albedo * ambient * falloff`` or sky, ``+ emissive``. Day
is bright and warm, night dark blue with lit windows, dawn and dusk orange/pink. The layout and palette are
a pure function of the location name, so a scene keeps its set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from tasks.video.looks import RGB, hsv, stable_rng

KINDS = ("office", "street", "room", "park")

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "office": (
        "office",
        "公司",
        "办公",
        "会议",
        "meeting",
        "boardroom",
        "studio",
        "lobby",
        "大厅",
        "前台",
        "集团",
    ),
    "street": (
        "street",
        "road",
        "街",
        "路",
        "city",
        "alley",
        "巷",
        "门口",
        "outside",
        "parking",
        "停车",
        "market",
    ),
    "park": (
        "park",
        "garden",
        "公园",
        "花园",
        "湖",
        "lake",
        "river",
        "河",
        "forest",
        "roof",
        "天台",
        "树林",
        "森林",
        "山顶",
    ),
    "room": (
        "room",
        "home",
        "house",
        "apartment",
        "家",
        "卧室",
        "客厅",
        "房",
        "kitchen",
        "厨房",
        "bedroom",
        "living",
        "hotel",
        "酒店",
        "cafe",
        "咖啡",
        "restaurant",
        "餐厅",
        "hospital",
        "医院",
        "病房",
    ),
}

SKY: dict[str, tuple[RGB, RGB]] = {  # (top, horizon)
    "day": ((96, 160, 232), (206, 228, 246)),
    "night": ((6, 10, 30), (34, 44, 86)),
    "dawn": ((92, 96, 170), (252, 178, 150)),
    "dusk": ((58, 44, 104), (250, 140, 72)),
}
AMBIENT: dict[tuple[str, bool], tuple[float, float, float]] = {  # (time of day, interior) -> RGB gain
    ("day", False): (1.04, 1.0, 0.92),
    ("day", True): (1.0, 0.96, 0.88),
    ("night", False): (0.22, 0.27, 0.46),
    ("night", True): (0.40, 0.40, 0.54),
    ("dawn", False): (0.92, 0.74, 0.74),
    ("dawn", True): (0.88, 0.76, 0.74),
    ("dusk", False): (0.9, 0.66, 0.5),
    ("dusk", True): (0.86, 0.7, 0.58),
}


def normalise_time(time_of_day: str) -> str:
    t = (time_of_day or "").strip().lower()
    if t in ("night", "夜", "晚", "evening", "深夜", "夜晚", "晚上"):
        return "night"
    if t in ("dawn", "morning", "晨", "清晨", "早", "黎明", "sunrise"):
        return "dawn"
    if t in ("dusk", "sunset", "黄昏", "傍晚", "twilight", "昏"):
        return "dusk"
    return "day"


def is_interior(interior: str | None, kind: str) -> bool:
    if interior:
        return interior.strip().upper().startswith(("INT", "内", "I/E"))
    return kind in ("office", "room")


def location_kind(location: str, interior: str | None) -> str:
    """Which set to draw: a keyword match on the location, reconciled with INT/EXT.

    EXT wins over an interior keyword (公司大楼门口 is the street outside the company); INT wins over an
    exterior one (INT. CITY HALL is a room). With no keyword: EXT → street, otherwise a room.
    """
    text = location.casefold()
    kind = next(
        (k for k in ("office", "park", "street", "room") if any(w in text for w in _KEYWORDS[k])), None
    )
    side = (interior or "").strip().upper()
    exterior = side.startswith(("EXT", "外"))
    inside = side.startswith(("INT", "内"))
    if exterior and kind in (None, "office", "room"):
        return "street"
    if inside and kind in ("street", "park"):
        return "room"
    return kind or "room"


@dataclass(frozen=True, slots=True)
class PlateSpec:
    location: str
    kind: str
    time: str  # day | night | dawn | dusk
    interior: bool
    width: int
    height: int


def plate_spec(location: str, interior: str | None, time_of_day: str, width: int, height: int) -> PlateSpec:
    kind = location_kind(location, interior)
    return PlateSpec(location, kind, normalise_time(time_of_day), is_interior(interior, kind), width, height)


def _gradient(h: int, w: int, top: RGB, bottom: RGB) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    col = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return np.broadcast_to(col, (h, w, 3)).copy()


def _rect(
    img: np.ndarray, x0: float, y0: float, x1: float, y1: float, colour: RGB | tuple[float, ...]
) -> None:
    h, w = img.shape[:2]
    cv2.rectangle(
        img, (int(x0 * w), int(y0 * h)), (int(x1 * w), int(y1 * h)), tuple(float(c) for c in colour), -1
    )


def _shade(c: RGB, f: float) -> RGB:
    return tuple(int(min(255, max(0, v * f))) for v in c)  # type: ignore[return-value]


class _Canvas:
    """Albedo and emissive layers being drawn (float32 RGB, 0..255)."""

    def __init__(self, spec: PlateSpec, scale: float) -> None:
        self.spec = spec
        self.h, self.w = max(1, int(spec.height * scale)), max(1, int(spec.width * scale))
        self.albedo = np.zeros((self.h, self.w, 3), np.float32)
        self.emit = np.zeros((self.h, self.w, 3), np.float32)
        self.sky = np.zeros((self.h, self.w, 3), np.float32)  # seen wherever no surface was drawn
        self.rng = stable_rng("plate", spec.kind, spec.location.strip().casefold())
        self.night = spec.time == "night"

    def hole(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Cut an opening in the surfaces (a window) so the sky layer shows through."""
        (ax, ay), (bx, by) = self.px(x0, y0), self.px(x1, y1)
        self.albedo[max(ay, 0) : by, max(ax, 0) : bx] = 0

    def px(self, x: float, y: float) -> tuple[int, int]:
        return int(x * self.w), int(y * self.h)

    def sky_into(self, layer: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> None:
        """Paint the time-of-day sky into a rectangle of ``layer`` (unlit: it is the light source)."""
        top, bottom = SKY[self.spec.time]
        (ax, ay), (bx, by) = self.px(x0, y0), self.px(x1, y1)
        if bx > ax and by > ay:
            layer[ay:by, ax:bx] = _gradient(by - ay, bx - ax, top, bottom)

    def glow(self, x: float, y: float, radius: float, colour: RGB, strength: float = 1.0) -> None:
        """A soft round light (lamp, lit window spill) added to the emissive layer."""
        cx, cy = self.px(x, y)
        r = max(2, int(radius * self.w))
        y0, y1, x0, x1 = (
            max(cy - 3 * r, 0),
            min(cy + 3 * r, self.h),
            max(cx - 3 * r, 0),
            min(cx + 3 * r, self.w),
        )
        if y1 <= y0 or x1 <= x0:
            return
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        fall = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2.0 * r * r)) * strength
        self.emit[y0:y1, x0:x1] += fall[..., None] * np.asarray(colour, np.float32)

    def windows_grid(
        self, x0: float, y0: float, x1: float, y1: float, cols: int, rows: int, frame: RGB, lit_ratio: float
    ) -> None:
        """A building facade's window grid: reflective glass by day, a random pattern of lit rooms
        at night.
        """
        gw, gh = (x1 - x0) / cols, (y1 - y0) / rows
        for r in range(rows):
            for c in range(cols):
                wx0, wy0 = x0 + c * gw + gw * 0.18, y0 + r * gh + gh * 0.2
                wx1, wy1 = wx0 + gw * 0.64, wy0 + gh * 0.6
                if self.night:
                    lit = self.rng.random() < lit_ratio
                    _rect(self.albedo, wx0, wy0, wx1, wy1, (20, 24, 34))
                    if lit:
                        warm = (255, 214, 140) if self.rng.random() < 0.7 else (200, 220, 255)
                        _rect(self.emit, wx0, wy0, wx1, wy1, _shade(warm, 0.7 + 0.3 * self.rng.random()))
                else:
                    _rect(self.albedo, wx0, wy0, wx1, wy1, _shade(frame, 1.35))
                    top, bottom = SKY[self.spec.time]
                    _rect(self.emit, wx0, wy0, wx1, wy1, _shade(bottom, 0.25))


def _draw_office(cv: _Canvas) -> None:
    rng = cv.rng
    wall = hsv(0.55 + 0.1 * rng.random(), 0.08 + 0.08 * rng.random(), 0.78 + 0.1 * rng.random())
    floor = hsv(0.08 + 0.05 * rng.random(), 0.2, 0.42 + 0.1 * rng.random())
    _rect(cv.albedo, 0, 0, 1, 0.64, wall)
    _rect(cv.albedo, 0, 0.64, 1, 1, floor)
    for i in range(9):  # floor tiles in perspective
        x = i / 8
        cv2.line(
            cv.albedo,
            cv.px(0.5 + (x - 0.5) * 0.6, 0.64),
            cv.px(0.5 + (x - 0.5) * 2.2, 1.0),
            _shade(floor, 0.82),
            max(1, cv.w // 400),
        )
    _rect(cv.albedo, 0, 0.0, 1, 0.05, _shade(wall, 0.9))  # ceiling band
    for i in range(3):  # ceiling light strips
        x = 0.12 + i * 0.3
        _rect(cv.albedo, x, 0.012, x + 0.2, 0.03, (240, 240, 240))
        _rect(cv.emit, x, 0.012, x + 0.2, 0.03, (120, 120, 110) if not cv.night else (255, 250, 230))
    # The wall of windows: the city outside, through mullions.
    wy0, wy1 = 0.12, 0.5
    cv.hole(0.04, wy0, 0.96, wy1)
    cv.sky_into(cv.sky, 0.04, wy0, 0.96, wy1)
    skyline = _shade(hsv(0.6, 0.15, 0.5), 1.0)
    x = 0.04
    while x < 0.96:
        bw = 0.05 + 0.08 * rng.random()
        top = wy0 + 0.05 + 0.2 * rng.random()
        _rect(cv.sky, x, top, min(x + bw, 0.96), wy1, _shade(skyline, 0.25 if cv.night else 0.55))
        if cv.night:
            for _ in range(int(bw * 120)):
                lx, ly = x + bw * rng.random(), top + (wy1 - top) * rng.random()
                _rect(cv.sky, lx, ly, lx + 0.006, ly + 0.004, (255, 210, 130))
        x += bw + 0.01
    for i in range(7):
        mx = 0.04 + i * (0.92 / 6)
        _rect(cv.albedo, mx - 0.006, wy0, mx + 0.006, wy1, (70, 74, 80))
    _rect(cv.albedo, 0.04, wy1, 0.96, wy1 + 0.012, (70, 74, 80))
    # Desks with monitors and chairs, back to front.
    desk = hsv(0.08, 0.25, 0.55 + 0.15 * rng.random())
    for row, (y, scale) in enumerate(((0.6, 0.7), (0.7, 1.0))):
        n = 3 if row == 0 else 2
        for i in range(n):
            cx = (i + 0.5) / n + (rng.random() - 0.5) * 0.06
            dw, dh = 0.22 * scale, 0.02 * scale
            _rect(cv.albedo, cx - dw / 2, y, cx + dw / 2, y + dh, desk)
            _rect(
                cv.albedo, cx - dw / 2 + 0.01, y + dh, cx - dw / 2 + 0.02, y + 0.07 * scale, _shade(desk, 0.6)
            )
            _rect(
                cv.albedo, cx + dw / 2 - 0.02, y + dh, cx + dw / 2 - 0.01, y + 0.07 * scale, _shade(desk, 0.6)
            )
            mw, mh = 0.09 * scale, 0.05 * scale
            _rect(cv.albedo, cx - mw / 2, y - mh - 0.01, cx + mw / 2, y - 0.01, (30, 32, 38))
            screen = (90, 150, 220) if cv.night else (40, 60, 80)
            _rect(cv.emit, cx - mw / 2 + 0.004, y - mh - 0.007, cx + mw / 2 - 0.004, y - 0.013, screen)
            _rect(cv.albedo, cx - 0.004, y - 0.01, cx + 0.004, y, (30, 32, 38))
            if cv.night:
                cv.glow(cx, y - mh / 2, 0.05 * scale, (40, 70, 110), 0.6)
    # A potted plant in a corner.
    px = 0.08 if rng.random() < 0.5 else 0.9
    _rect(cv.albedo, px - 0.03, 0.6, px + 0.03, 0.66, (120, 80, 60))
    for _ in range(7):
        ang = rng.random() * np.pi
        cv2.ellipse(
            cv.albedo,
            cv.px(px, 0.56),
            (int(0.05 * cv.w), int(0.012 * cv.w)),
            float(np.degrees(ang)),
            0,
            360,
            (50, 120, 60),
            -1,
        )


def _draw_room(cv: _Canvas) -> None:
    rng = cv.rng
    wall = hsv(rng.random(), 0.18 + 0.12 * rng.random(), 0.72 + 0.12 * rng.random())
    floor = hsv(0.07, 0.45, 0.45 + 0.12 * rng.random())
    _rect(cv.albedo, 0, 0, 1, 0.66, wall)
    stripes = rng.random() < 0.6
    if stripes:
        for i in range(0, 24, 2):
            _rect(cv.albedo, i / 24, 0, (i + 1) / 24, 0.66, _shade(wall, 0.93))
    _rect(cv.albedo, 0, 0.66, 1, 1, floor)
    for i in range(14):  # floorboards
        y = 0.66 + (i / 14) ** 1.6 * 0.34
        cv2.line(cv.albedo, cv.px(0, y), cv.px(1, y), _shade(floor, 0.8), max(1, cv.w // 500))
    _rect(cv.albedo, 0, 0.64, 1, 0.665, _shade(wall, 0.6))  # skirting board
    # Window with curtains: the time of day shows through it.
    wx = 0.12 + 0.45 * rng.random()
    cv.hole(wx, 0.14, wx + 0.3, 0.44)
    cv.sky_into(cv.sky, wx, 0.14, wx + 0.3, 0.44)
    if cv.night:
        cv2.circle(cv.sky, cv.px(wx + 0.22, 0.2), int(0.02 * cv.w), (235, 235, 210), -1)
    _rect(cv.albedo, wx - 0.01, 0.13, wx + 0.31, 0.14, (240, 240, 235))
    _rect(cv.albedo, wx - 0.01, 0.44, wx + 0.31, 0.455, (240, 240, 235))
    _rect(cv.albedo, wx + 0.145, 0.14, wx + 0.155, 0.44, (240, 240, 235))
    curtain = hsv(rng.random(), 0.5, 0.6)
    for side in (wx - 0.06, wx + 0.28):
        _rect(cv.albedo, side, 0.11, side + 0.08, 0.5, curtain)
    # A picture frame, a bookshelf, a sofa and a floor lamp.
    fx = 0.62 if wx < 0.4 else 0.06
    _rect(cv.albedo, fx, 0.2, fx + 0.18, 0.32, (90, 60, 40))
    _rect(cv.albedo, fx + 0.01, 0.21, fx + 0.17, 0.31, hsv(rng.random(), 0.4, 0.7))
    bx = 0.84 if fx < 0.5 else 0.0
    _rect(cv.albedo, bx, 0.3, bx + 0.16, 0.66, (110, 76, 50))
    for shelf in range(4):
        y = 0.33 + shelf * 0.08
        _rect(cv.albedo, bx + 0.01, y, bx + 0.15, y + 0.065, (70, 48, 32))
        x = bx + 0.012
        while x < bx + 0.14:
            bw = 0.01 + 0.01 * rng.random()
            _rect(cv.albedo, x, y + 0.015 * rng.random(), x + bw, y + 0.065, hsv(rng.random(), 0.5, 0.6))
            x += bw + 0.002
    sofa = hsv(rng.random(), 0.35, 0.45)
    _rect(cv.albedo, 0.22, 0.56, 0.78, 0.7, sofa)
    _rect(cv.albedo, 0.18, 0.6, 0.26, 0.72, _shade(sofa, 0.85))
    _rect(cv.albedo, 0.74, 0.6, 0.82, 0.72, _shade(sofa, 0.85))
    _rect(cv.albedo, 0.24, 0.63, 0.76, 0.68, _shade(sofa, 1.15))
    rug = hsv(rng.random(), 0.4, 0.55)
    cv2.ellipse(cv.albedo, cv.px(0.5, 0.86), (int(0.4 * cv.w), int(0.05 * cv.h)), 0, 0, 360, rug, -1)
    lx = 0.1 if bx > 0.5 else 0.9
    _rect(cv.albedo, lx - 0.004, 0.42, lx + 0.004, 0.7, (40, 40, 40))
    cv2.fillPoly(
        cv.albedo,
        [
            np.array(
                [
                    cv.px(lx - 0.04, 0.43),
                    cv.px(lx + 0.04, 0.43),
                    cv.px(lx + 0.025, 0.37),
                    cv.px(lx - 0.025, 0.37),
                ]
            )
        ],
        (235, 220, 180),
    )
    if cv.night:
        cv.glow(lx, 0.42, 0.12, (255, 190, 110), 0.75)
        cv.glow(0.5, 0.06, 0.35, (255, 220, 170), 0.25)


def _draw_street(cv: _Canvas) -> None:
    rng = cv.rng
    cv.sky_into(cv.sky, 0, 0, 1, 0.66)
    if cv.night:
        for _ in range(60):
            sx, sy = rng.random(), rng.random() * 0.3
            cv2.circle(cv.sky, cv.px(sx, sy), max(1, cv.w // 700), (200, 200, 230), -1)
    x = -0.05
    while x < 1.05:  # a row of buildings, each its own colour and window grid
        bw = 0.14 + 0.16 * rng.random()
        top = 0.12 + 0.3 * rng.random()
        colour = hsv(
            rng.random() * 0.15 + 0.02 + 0.5 * (rng.random() < 0.3),
            0.25 + 0.2 * rng.random(),
            0.45 + 0.3 * rng.random(),
        )
        _rect(cv.albedo, x, top, x + bw, 0.68, colour)
        cols = max(2, int(bw / 0.045))
        rows = max(3, int((0.6 - top) / 0.05))
        cv.windows_grid(x + 0.01, top + 0.02, x + bw - 0.01, 0.6, cols, rows, colour, 0.4)
        _rect(cv.albedo, x + bw * 0.35, 0.6, x + bw * 0.65, 0.68, _shade(colour, 0.45))  # door
        if rng.random() < 0.5:  # a shop sign
            sign = hsv(rng.random(), 0.7, 0.85)
            _rect(cv.albedo, x + 0.01, 0.56, x + bw - 0.01, 0.585, sign)
            if cv.night:
                _rect(cv.emit, x + 0.01, 0.56, x + bw - 0.01, 0.585, _shade(sign, 0.8))
        x += bw + 0.005
    _rect(cv.albedo, 0, 0.68, 1, 0.76, (150, 146, 140))  # pavement
    _rect(cv.albedo, 0, 0.755, 1, 0.765, (110, 108, 104))  # kerb
    _rect(cv.albedo, 0, 0.765, 1, 1, (70, 72, 76))  # road
    for i in range(6):
        _rect(cv.albedo, i / 5 - 0.06, 0.87, i / 5 + 0.04, 0.88, (230, 225, 200))
    for lx in (0.08, 0.58):  # street lamps
        lx += 0.1 * rng.random()
        _rect(cv.albedo, lx - 0.004, 0.42, lx + 0.004, 0.74, (50, 54, 58))
        _rect(cv.albedo, lx - 0.004, 0.42, lx + 0.05, 0.428, (50, 54, 58))
        _rect(cv.albedo, lx + 0.035, 0.428, lx + 0.055, 0.438, (240, 230, 200))
        if cv.night:
            _rect(cv.emit, lx + 0.035, 0.428, lx + 0.055, 0.438, (255, 230, 170))
            cv.glow(lx + 0.045, 0.45, 0.08, (255, 200, 120), 0.45)
            cv.glow(lx + 0.045, 0.74, 0.1, (255, 190, 110), 0.25)
    tx = 0.3 + 0.4 * rng.random()  # a tree on the pavement
    _rect(cv.albedo, tx - 0.008, 0.55, tx + 0.008, 0.72, (80, 60, 40))
    for _ in range(6):
        cv2.circle(
            cv.albedo,
            cv.px(tx + (rng.random() - 0.5) * 0.08, 0.52 + (rng.random() - 0.5) * 0.05),
            int(0.04 * cv.w),
            (60, 110, 60),
            -1,
        )


def _draw_park(cv: _Canvas) -> None:
    rng = cv.rng
    cv.sky_into(cv.sky, 0, 0, 1, 0.62)
    sun = {"day": (255, 250, 220), "dawn": (255, 200, 150), "dusk": (255, 160, 90), "night": (230, 230, 210)}
    cv2.circle(cv.sky, cv.px(0.2 + 0.6 * rng.random(), 0.18), int(0.035 * cv.w), sun[cv.spec.time], -1)
    for i in range(14):  # distant tree line
        tx = i / 13 + (rng.random() - 0.5) * 0.05
        r = 0.05 + 0.04 * rng.random()
        cv2.circle(cv.albedo, cv.px(tx, 0.58), int(r * cv.w), hsv(0.3 + 0.05 * rng.random(), 0.45, 0.35), -1)
    _rect(cv.albedo, 0, 0.6, 1, 1, hsv(0.27, 0.5, 0.5))
    cv2.fillPoly(
        cv.albedo,
        [np.array([cv.px(0.42, 0.6), cv.px(0.58, 0.6), cv.px(0.85, 1.0), cv.px(0.15, 1.0)])],
        (190, 175, 150),
    )
    bench = (120, 80, 50)
    bx = 0.1 if rng.random() < 0.5 else 0.68
    _rect(cv.albedo, bx, 0.66, bx + 0.22, 0.675, bench)
    _rect(cv.albedo, bx, 0.63, bx + 0.22, 0.64, bench)
    _rect(cv.albedo, bx + 0.01, 0.675, bx + 0.02, 0.7, (50, 50, 50))
    _rect(cv.albedo, bx + 0.2, 0.675, bx + 0.21, 0.7, (50, 50, 50))
    lx = 0.85 if bx < 0.5 else 0.12
    _rect(cv.albedo, lx - 0.004, 0.45, lx + 0.004, 0.7, (40, 44, 48))
    cv2.circle(cv.albedo, cv.px(lx, 0.45), int(0.015 * cv.w), (235, 230, 210), -1)
    if cv.night:
        cv.glow(lx, 0.45, 0.1, (255, 210, 140), 0.7)


_DRAW = {"office": _draw_office, "street": _draw_street, "room": _draw_room, "park": _draw_park}


@lru_cache(maxsize=6)
def render_plate(spec: PlateSpec) -> np.ndarray:
    """The lit plate as ``(height, width, 3) uint8``; cached (read-only) so a scene's shots share it."""
    # Plates are soft shapes: drawing at half size and upscaling once costs a quarter of the time.
    cv = _Canvas(spec, 0.5)
    _DRAW[spec.kind](cv)
    gain = np.asarray(AMBIENT[(spec.time, spec.interior)], np.float32)
    # Light falls off toward the floor and the edges, which gives the flat shapes some depth.
    ys = np.linspace(0.0, 1.0, cv.h, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, cv.w, dtype=np.float32)[None, :]
    falloff = (1.0 - 0.18 * ys) * (1.0 - 0.12 * xs * xs)
    surface = cv.albedo.max(axis=2, keepdims=True) > 0
    lit = np.where(surface, cv.albedo * gain * falloff[..., None], cv.sky) + cv.emit
    small = np.clip(lit, 0, 255).astype(np.uint8)
    out = cv2.resize(small, (spec.width, spec.height), interpolation=cv2.INTER_LINEAR)
    out.setflags(write=False)
    return out


def figure_light(spec: PlateSpec) -> tuple[float, float, float]:
    """The light on characters: the plate's ambient, lifted (faces must stay readable at night)."""
    gain = AMBIENT[(spec.time, spec.interior)]
    return tuple(min(1.0, 0.35 + 0.65 * g) for g in gain)  # type: ignore[return-value]
