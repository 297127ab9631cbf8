"""The dual-stream audio-video diffusion transformer (SkyReels-V4 style) and everything around it.

``config`` (presets, parameter counts), ``model`` (the network, one file top to bottom), ``attention`` (Video
Sparse Attention), ``text`` (the shared, pluggable text encoder), ``flow`` (rectified-flow loss), ``sampler``
(stateless Euler sampler with timestep shift and two-scale classifier-free guidance). Torch is imported by
those modules, never by this package's ``__init__``, so non-model code can import ``model_core.config``
cheaply.
"""
