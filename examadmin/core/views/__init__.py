"""Blueprints of the core: sign-in, users, audit log, jobs, health."""
from .audit import bp as audit_bp
from .auth import bp as auth_bp
from .health import bp as health_bp
from .jobs import bp as jobs_bp
from .users import bp as users_bp

blueprints = [auth_bp, users_bp, audit_bp, jobs_bp, health_bp]
