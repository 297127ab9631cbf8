"""Sound: speech, casting, emotion, effects, score and the mix."""
