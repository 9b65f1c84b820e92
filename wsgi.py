"""What gunicorn and `flask` load: `gunicorn wsgi:app`."""
from examadmin import create_app

app = create_app()
