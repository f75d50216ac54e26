"""Key information per keyframe: VLM extraction, JSON repair, open-vocabulary calibration and face
attributes (paper sections 3.1-3.4)."""
