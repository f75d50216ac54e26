"""The CPU video stage: probing, the single decode pass, shots, keyframes, quality, motion."""
