"""The deployment files in deploy/ say what the code reads and are valid for their tools.

systemd-analyze and nginx check the units and the site where they are installed (Debian:
`systemd`, `nginx`); without them those two tests are skipped.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import examadmin
from examadmin.config import ROOT

DEPLOY = ROOT / "deploy"
UNITS = ["examadmin-web.service", "examadmin-worker.service", "examadmin-backup.service", "examadmin-backup.timer"]
#: settings read by the code that an operator never sets (tests, debugging)
#: set by the program itself or by the test suite, never by an operator (WERKZEUG_RUN_MAIN:
#: the reloader of `serve --dev` marks its child with it)
NOT_FOR_OPERATORS = {"HUEY_IMMEDIATE", "RUST_BACKTRACE", "WERKZEUG_RUN_MAIN"}


def env_example() -> dict[str, tuple[str, bool]]:
    """NAME → (value, set) for every line of the example, set or commented out."""
    found = {}
    for line in (DEPLOY / "examadmin.env.example").read_text().splitlines():
        match = re.match(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            value = match.group(3)
            if len(value) >= 2 and value[0] == value[-1] == '"':  # systemd removes the quotes too
                value = value[1:-1]
            found[match.group(2)] = (value, not match.group(1))
    return found


def names_read_by_the_code() -> set[str]:
    pattern = re.compile(r"""(?:environ\.get|environ\[|getenv|_flag|envvar=)\(?\s*["']([A-Z][A-Z0-9_]*)["']""")
    names = set()
    for path in Path(examadmin.__file__).parent.rglob("*.py"):
        names |= set(pattern.findall(path.read_text()))
    return names


def names_read_by_the_units() -> set[str]:
    return {name for unit in UNITS for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", (DEPLOY / unit).read_text())}


def test_the_environment_example_names_only_settings_that_are_read():
    code, units = names_read_by_the_code(), names_read_by_the_units()
    unknown = set(env_example()) - code - units
    assert not unknown, f"deploy/examadmin.env.example sets names nothing reads: {sorted(unknown)}"
    assert units <= {n for n, (_, active) in env_example().items() if active}, "a unit uses a name the file does not set"


def test_the_environment_example_lists_every_setting_the_code_reads():
    missing = names_read_by_the_code() - NOT_FOR_OPERATORS - set(env_example())
    assert not missing, f"add to deploy/examadmin.env.example (and README's settings): {sorted(missing)}"
    active = {n for n, (_, on) in env_example().items() if on}
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "STORAGE_DIR", "EXAMADMIN_INSTANCE", "HTTPS",
            "TRUST_PROXY", "MAX_UPLOAD_MB", "WEB_WORKERS"} <= active


def test_the_units_may_write_where_the_settings_put_the_data():
    env = env_example()
    for unit in ["examadmin-web.service", "examadmin-worker.service", "examadmin-backup.service"]:
        text = (DEPLOY / unit).read_text()
        writable = [p.lstrip("-") for line in re.findall(r"^ReadWritePaths=(.*)$", text, re.M) for p in line.split()]
        for setting in ("EXAMADMIN_INSTANCE", "STORAGE_DIR"):
            path = env[setting][0]
            assert any(path == w or path.startswith(w.rstrip("/") + "/") for w in writable), (unit, setting)
        assert "EnvironmentFile=/etc/examadmin/examadmin.env" in text and "Restart" in text or "oneshot" in text
        assert "NoNewPrivileges=yes" in text and "ProtectSystem=strict" in text and "User=examadmin" in text
    backup = (DEPLOY / "examadmin-backup.service").read_text()
    out = re.search(r"^ExecStart=\S+ backup (\S+)", backup, re.M).group(1)
    assert out in re.search(r"^ReadWritePaths=(.*)$", backup, re.M).group(1).split()


def test_nginx_refuses_exactly_what_the_app_would_refuse_and_says_so_in_chinese(app):
    """Equal limits: a body the app would refuse never reaches it (gunicorn, answering before it
    has read the body, drops the connection and nginx may show 502 instead of the app's page)."""
    site = (DEPLOY / "nginx-examadmin.conf").read_text()
    env = env_example()
    general = re.search(r"^    client_max_body_size (\d+)m;", site, re.M).group(1)
    assert int(general) * 1024 * 1024 == app.config["MAX_CONTENT_LENGTH"] == int(env["MAX_UPLOAD_MB"][0]) * 1024 * 1024
    assert f"不能超过 {env['MAX_UPLOAD_MB'][0]} MB" in site and f"不能超过 {env['MAX_PHOTO_ZIP_MB'][0]} MB" in site
    with app.test_request_context():
        from flask import url_for

        photos = url_for("candidates.photos", _external=False)
    photo_block = re.search(r"location = " + re.escape(photos) + r" \{(.*?)\}", site, re.S)
    assert photo_block, f"no nginx location for {photos}"
    assert f"client_max_body_size {int(env['MAX_PHOTO_ZIP_MB'][0]) + 1}m;" in photo_block.group(1)
    assert "location = /healthz" in site


def test_nginx_serves_the_static_folders_the_app_serves(app):
    site = (DEPLOY / "nginx-examadmin.conf").read_text()
    aliases = dict(re.findall(r"location (/\S+/) \{\s*alias (\S+);", site))
    static = Path(app.static_folder).relative_to(ROOT).as_posix()
    assert aliases[app.static_url_path + "/"] == f"/opt/examadmin/app/{static}/"
    bootstrap = app.blueprints["bootstrap"]
    folder = Path(bootstrap.static_folder)
    site_packages = folder.parents[2]  # .../site-packages/flask_bootstrap/static/bootstrap5
    assert aliases[bootstrap.static_url_path + "/"] == (
        f"/opt/examadmin/venv/lib/python3.11/site-packages/{folder.relative_to(site_packages).as_posix()}/")
    assert (folder / "css").is_dir()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    executable = shutil.which("true")
    for unit in UNITS:
        text = (DEPLOY / unit).read_text().replace("/opt/examadmin/venv/bin/examadmin", executable)
        (tmp_path / unit).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", *[str(tmp_path / u) for u in UNITS]],
                          capture_output=True, text=True, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if str(tmp_path) in line or "examadmin" in line]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr


@pytest.mark.skipif(not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists(), reason="nginx is not installed")
def test_nginx_accepts_the_site(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=exam.example.cn", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    (tmp_path / "logs").mkdir()
    (tmp_path / "examadmin-proxy.conf").write_text((DEPLOY / "nginx-examadmin-proxy.conf").read_text())
    site = ((DEPLOY / "nginx-examadmin.conf").read_text()
            .replace("/etc/letsencrypt/live/exam.example.cn/fullchain.pem", str(tmp_path / "cert.pem"))
            .replace("/etc/letsencrypt/live/exam.example.cn/privkey.pem", str(tmp_path / "key.pem"))
            .replace("/etc/nginx/snippets/examadmin-proxy.conf", str(tmp_path / "examadmin-proxy.conf"))
            .replace("/var/log/nginx/", f"{tmp_path}/logs/"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log;
events {{}}
http {{
    types {{ text/html html; }}
    access_log {tmp_path}/logs/access.log;
    client_body_temp_path {tmp_path}/body;
    include {tmp_path}/site.conf;
}}
""")
    done = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "test is successful" in done.stderr, done.stderr


def test_the_admin_wrapper_reads_the_environment_file_as_systemd_does(tmp_path):
    """Every line of the example, commented ones switched on, reaches the command unchanged."""
    env_file = tmp_path / "examadmin.env"
    env_file.write_text(re.sub(r"^#([A-Z][A-Z0-9_]*=)", r"\1", (DEPLOY / "examadmin.env.example").read_text(), flags=re.M))
    script = ((DEPLOY / "examadmin-admin").read_text()
              .replace("runuser -u examadmin -- ", "")  # the user switch needs root and the user
              .replace("ENV_FILE=/etc/examadmin/examadmin.env", f"ENV_FILE={env_file}")
              .replace("EXAMADMIN=/opt/examadmin/venv/bin/examadmin", f"EXAMADMIN={shutil.which('python3')}")
              .replace("HOME_DIR=/var/lib/examadmin", f"HOME_DIR={tmp_path}"))
    (tmp_path / "admin").write_text(script)
    printer = "import json, os, sys; print(json.dumps([dict(os.environ), os.getcwd(), sys.argv[1:]]))"
    done = subprocess.run(["sh", str(tmp_path / "admin"), "-c", printer, "db", "upgrade"], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    environ, cwd, args = json.loads(done.stdout)
    assert {name: environ.get(name) for name in env_example()} == {n: v for n, (v, _) in env_example().items()}
    assert environ["LOGIN_RATE_LIMIT"] == "5 per minute" and cwd == str(tmp_path) and args == ["db", "upgrade"]
