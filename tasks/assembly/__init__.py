"""Assembly: subtitles, shot joining, muxing, cover image and QC measured from the output."""
