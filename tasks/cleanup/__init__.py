"""Footage cleanup: find watermarks, logos and burned-in subtitles, then remove them.

``detect`` finds what to remove (static marks with their blend alpha, moving marks, subtitle bands per frame),
``remove`` takes it out (blend inversion where the mark is see-through, temporal propagation then spatial
inpainting where it is opaque), ``video_io`` streams frames in and out while keeping audio, timing and tags.
``clean`` ties them together for one file.
"""
