"""Developer and test tooling: local servers the tests and the README start."""
