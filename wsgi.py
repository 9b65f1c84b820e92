"""What gunicorn and `flask` load: `gunicorn wsgi:app`.

`examadmin serve` drives gunicorn itself (examadmin/core/serving.py); this module is for
those who run gunicorn (or another WSGI server) their own way."""
import logging

from examadmin import create_app
from examadmin.core.serving import freeze_after_startup

if not logging.getLogger().handlers:
    # the request log (examadmin.request) at INFO on standard error, unless the server
    # was given a logging configuration of its own
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app()
freeze_after_startup()  # what examadmin serve does: the app's own objects leave the collector's work
