"""Procedural video for the animatic backend: location plates, character figures, camera paths, text sprites.

Everything here is drawn once per shot (plates, bodies, head states, text) and only composited per frame
with numpy slices and one OpenCV warp, so a storyboard renders faster than it encodes.
"""
