"""Pydantic models shared by every layer: vocabularies and the payloads of annotation kinds.
Nothing here imports the pipeline (no database, no store, no models)."""
