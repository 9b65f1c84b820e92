from . import hooks_hours  # noqa: F401  (registers the validity cycles with the hours area)
