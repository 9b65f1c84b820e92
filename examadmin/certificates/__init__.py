from . import score_locks  # noqa: F401  (registers the certificate lock of scores with the scores area)
