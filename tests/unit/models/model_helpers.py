"""Constants for the model tests."""

# Measured by eye on the images (the same boxes the privacy tests use).
ASTRONAUT_FACE = (180, 65, 265, 170)
MESSI_FACE = (222, 90, 266, 136)
