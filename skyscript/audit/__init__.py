"""Auditor reports: per drama and per calibration batch, as HTML with plots and the same numbers
as JSON, kept in the public area of the store."""
