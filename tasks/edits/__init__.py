"""Edit operations on footage: remove/recolour/add elements (tracked), grade (3D LUTs, looks), reframe, trim, retime.

The operations themselves are the frozen records of :mod:`schemas.edits`; this package implements their
``apply`` on a streamed :class:`~tasks.edits.clip.Clip` and writes the result (:func:`tasks.edits.apply.apply_edits`).
"""

from schemas.edits import EditError

__all__ = ["EditError"]
