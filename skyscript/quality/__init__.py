"""Data-quality: loss accounting and the gates (loss rate, calibrated accuracy)."""
