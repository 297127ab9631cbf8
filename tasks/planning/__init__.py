"""Shot planning: scenes → shots (framing, camera, timing, cues, mood, seeds), deterministic."""

from tasks.planning.plan import plan_script
from tasks.planning.timing import TimedShot, fit_shot

__all__ = ["TimedShot", "fit_shot", "plan_script"]
