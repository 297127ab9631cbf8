"""Media plumbing: the one ffmpeg wrapper, probing, the integer time base, atomic file writes."""
