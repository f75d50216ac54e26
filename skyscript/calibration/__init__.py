"""Calibration: review packets sampled from finished dramas, reviewer decisions saved as versioned
corrections, batch accuracy with its Wilson interval, the accuracy gate and rework.

Airflow-free: the review plugin (``plugins/``), the CLI (``skyscript calibrate``) and the
calibration DAG all call into this package."""
