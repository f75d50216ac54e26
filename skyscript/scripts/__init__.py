"""Shooting scripts as data: the Table 1 builder, renderers (Fountain, Final Draft FDX), the
restoration prompt and its checks, and the near-duplicate filter. Pure logic: no database, no
store, no model runtime (the embedding model is passed in)."""
