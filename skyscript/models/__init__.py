"""Model adapters (detectors, face attributes, chat clients of model servers) and offline weight resolution.

Nothing here imports torch, transformers, ultralytics, lmdeploy or deepface at module level:
the embedded default runs without them, and a GPU pod image adds them.
"""
