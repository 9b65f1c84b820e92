"""What every page shares: sign-in by default, security headers, errors in Chinese, paging."""
from __future__ import annotations

import base64
import hashlib
import math
import time
from enum import Enum
from functools import wraps
from typing import Any, Callable

from flask import (Flask, current_app, flash, jsonify, redirect, render_template, request, session,
                   url_for)
from cryptography.fernet import Fernet, InvalidToken
from flask_login import current_user, logout_user
from flask_sqlalchemy.pagination import SelectPagination
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy import func
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import IntegerConverter

from ..extensions import db
from . import counts
from .errors import DomainError
from . import permissions
from .permissions import MAX_ID

#: endpoints reachable without signing in, besides those marked with @public
PUBLIC_ENDPOINTS = {"static", "bootstrap.static"}

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")

ERROR_TITLES = {
    400: "请求无效", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作",
    413: "上传文件过大", 429: "操作过于频繁", 500: "系统内部错误", 503: "服务暂时不可用",
}

DATABASE_UNAVAILABLE = "数据库暂时无法访问（可能正在重启或非常繁忙），本次操作未完成，已保存的数据没有被部分修改。请稍后重试。"


def public(view: Callable) -> Callable:
    """Mark a view as reachable without signing in (sign-in page, public lookups)."""
    view._public = True  # type: ignore[attr-defined]
    return view


def is_public(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return True
    return getattr(app.view_functions.get(endpoint), "_public", False)


def wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _declare_write_intent():
    from ..extensions import write_intent

    write_intent.set(request.method not in SAFE_METHODS)


def _require_sign_in():
    """Every endpoint needs a signed-in user unless marked public: new pages cannot forget it."""
    from flask import current_app

    if is_public(current_app, request.endpoint):
        return None
    if not current_user.is_authenticated:
        if wants_json():
            return jsonify(error="请先登录"), 401
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    last = session.get("seen", 0)
    if last and time.time() - last > idle:
        logout_user()
        session.clear()
        flash("长时间未操作，已自动退出，请重新登录。", "warning")
        return redirect(url_for("auth.login"))
    session["seen"] = int(time.time())
    if current_user.must_change_password and request.endpoint not in ("auth.change_password", "auth.logout"):
        flash("请先设置新密码。", "warning")
        return redirect(url_for("auth.change_password"))
    return None


#: the highest page number a list accepts: far beyond any real list, low enough that
#: page x page size stays a small integer for every database
MAX_PAGE = 100_000


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an id beyond 64 bits does not match, so it answers 404; nor
    does one written with other digits than 0-9 (Python's \\d also takes full-width １ and
    Arabic-Indic ١) or with leading zeros: one record has one address."""

    regex = r"(?:0|[1-9][0-9]*)"

    def __init__(self, map, *args, **kwargs):  # noqa: A002
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


NUL_MESSAGE = "请求中含有无效字符（NUL），请检查后重新提交。"


def refuse_nul_in(*sources) -> None:
    """400 in Chinese when a key or a text value of these multidicts holds a NUL."""
    for source in sources:
        for key, value in source.items(multi=True):
            if "\x00" in key or (isinstance(value, str) and "\x00" in value):
                raise BadRequest(NUL_MESSAGE)


def _raises_own_body_limit() -> bool:
    """Views exempt from CSRFProtect raise the body limit before they parse the body (the
    photo zip); their forms (core.forms.BaseForm) check the fields for NUL once parsed."""
    from flask import current_app

    from ..extensions import csrf

    view = current_app.view_functions.get(request.endpoint or "")
    return view is not None and f"{view.__module__}.{view.__name__}" in csrf._exempt_views


def _refuse_nul():
    """A NUL character is never valid input (PostgreSQL refuses it in text): 400, in Chinese."""
    sources = [request.args]
    if request.mimetype == "application/x-www-form-urlencoded":
        sources.append(request.form)
    elif request.mimetype == "multipart/form-data" and not _raises_own_body_limit():
        # CSRFProtect parses this body right after, under the same general limit
        sources.append(request.form)
    refuse_nul_in(*sources)


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    # Signed-in pages show personal data: never keep them in a shared browser's cache. The
    # session says whether someone is signed in without asking the user object, which a view
    # that committed has expired (one query more on every POST otherwise); a cookie whose
    # session has ended meanwhile also gets no-store, which costs nothing.
    if session.get("_user_id") is not None and request.endpoint not in PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    # The answer to a form can echo what was typed (an ID number at a failed portal sign-in)
    # or answer personal data (a lookup): never kept, signed in or not.
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
    return response


def _render_error(code: int, message: str | None = None):
    title = ERROR_TITLES.get(code, "出错了")
    if wants_json():
        return jsonify(error=message or title), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def _handle_http(exc: HTTPException):
    db.session.rollback()
    code = exc.code or 500
    message = None
    if code in (400, 403, 404) and exc.description and any("\u4e00" <= ch <= "\u9fff" for ch in exc.description):
        message = exc.description
    if code == 413:
        from flask import current_app

        limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        message = f"上传的文件超过了 {limit} MB 的上限，请拆分后再上传。"
    if code == 429:
        message = "尝试次数过多，请稍后再试。"
    return _render_error(code, message)


def _handle_csrf(exc: CSRFError):
    db.session.rollback()
    return _render_error(400, "页面已过期或表单校验失败，请刷新页面后重新提交。")


def _handle_unexpected(exc: Exception):
    db.session.rollback()
    from flask import current_app

    current_app.logger.exception("unhandled error")
    return _render_error(500, "系统遇到了意外错误，已记录。您的数据没有被部分修改，请稍后重试。")


def _handle_database_unavailable(exc: Exception):
    """The database went away (a restart, a failover, a lock held too long): a clean 503.

    The connection pool checks each connection before use (pool_pre_ping), so the requests
    after the database is back succeed; the one caught in between lands here, with its
    transaction rolled back by the database, never half-written."""
    from flask import current_app, g

    from ..extensions import login_manager

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
        pass
    current_app.logger.warning("database unavailable (%s)", type(exc).__name__, exc_info=True)
    # The page must not ask the database who is signed in.
    g._login_user = login_manager.anonymous_user()
    body, code = _render_error(503, DATABASE_UNAVAILABLE)
    response = current_app.make_response((body, code))
    response.headers["Retry-After"] = "10"
    return response


def install(app: Flask) -> None:
    # before any blueprint adds its routes: rules take their converters when they are added
    app.url_map.converters["int"] = IdConverter
    app.before_request(_declare_write_intent)
    app.before_request(_require_sign_in)
    app.before_request(_refuse_nul)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(OperationalError, _handle_database_unavailable)
    app.register_error_handler(InterfaceError, _handle_database_unavailable)
    if not app.testing:
        app.register_error_handler(Exception, _handle_unexpected)

    app.add_template_filter(counts.count_label, "count_label")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        from .nav import home_endpoint, sidebar

        return {"sidebar": sidebar, "home_endpoint": home_endpoint}


def page_args(default_size: int | None = None) -> dict[str, int]:
    from flask import current_app

    try:
        page = min(max(1, int(request.args.get("page", 1))), MAX_PAGE)
    except ValueError:
        page = 1
    return {"page": page, "per_page": default_size or current_app.config["PAGE_SIZE"]}


class CappedPagination(SelectPagination):
    """Flask-SQLAlchemy's page of a select, with the count capped at counts.COUNT_CAP (and no count
    query at all when the page itself shows that the list ends on it)."""

    total_capped = False

    def _query_items(self) -> list[Any]:
        # Past the first page, find the page's keys first (the filters and order alone, no
        # eager joins: an index walk), then load just those rows with what the page shows;
        # otherwise the joins run for every row the OFFSET skips.
        select_ = self._query_args["select"]
        key = _single_key(select_)
        if self._query_offset == 0 or key is None:
            return super()._query_items()
        session = self._query_args["session"]
        keys = session.scalars(select_.with_only_columns(key, maintain_column_froms=True)
                               .limit(self.per_page).offset(self._query_offset)).all()
        if not keys:
            return []
        # the keys as values, not a subquery: the planner then reads these rows by primary key
        return list(session.execute(select_.where(key.in_(keys))).unique().scalars())

    def _query_count(self) -> int:
        shown = len(self.items)
        if shown < self.per_page and (shown or self.page == 1):
            return (self.page - 1) * self.per_page + shown
        select_ = self._query_args["select"]
        sub = select_.options(lazyload("*")).order_by(None).limit(counts.COUNT_CAP + 1).subquery()
        total = self._query_args["session"].execute(sa_select(func.count()).select_from(sub)).scalar()
        self.total_capped = total > counts.COUNT_CAP
        return min(total, counts.COUNT_CAP)


def _single_key(select_) -> Any:
    """The primary-key column of a select of one ORM entity with a one-column key and no
    grouping; None for anything else (which pages the plain way)."""
    descriptions = select_.column_descriptions
    if len(descriptions) != 1 or select_._group_by_clauses or select_._distinct:
        return None
    entity = descriptions[0].get("entity")
    if entity is None or descriptions[0].get("expr") is not entity:
        return None
    primary_key = sa_inspect(entity).primary_key
    return primary_key[0] if len(primary_key) == 1 else None


def paginate(query):
    """A page of a select, with the request's ?page=; no error for a page past the end.
    Pages stop at counts.COUNT_CAP rows: a deeper OFFSET would read and skip every row before it."""
    args = page_args()
    args["page"] = min(args["page"], max(1, math.ceil(counts.COUNT_CAP / args["per_page"])))
    return CappedPagination(select=query, session=db.session(), error_out=False, **args)


def flash_domain_error(exc: DomainError, form=None) -> None:
    """Show a rule's message on the form field it names, else as a flash."""
    if form is not None and exc.field and exc.field in form:
        form[exc.field].errors = list(form[exc.field].errors) + [exc.message]
    else:
        flash(exc.message, "danger")


def commit_or_flash(fn: Callable, *args, form=None, **kwargs):
    """Call a service, commit on success; on a DomainError roll back and show the message."""
    try:
        result = fn(*args, **kwargs)
        db.session.commit()
        return result, True
    except DomainError as exc:
        db.session.rollback()
        flash_domain_error(exc, form)
        return None, False


def int_arg(name: str) -> int | None:
    """A positive id or count from the query string; None when absent, invalid or out of range."""
    return permissions.parse_id(request.args.get(name))


def choice_arg(name: str, choices: type[Enum] | Any) -> str:
    """A filter value from the query string if it is one of `choices` (an Enum or a collection
    of strings); "" (no filter) for anything else, so that an unknown value is ignored."""
    value = request.args.get(name, "")
    if isinstance(choices, type) and issubclass(choices, Enum):
        allowed = {str(member.value) for member in choices}
    else:
        allowed = {str(choice) for choice in choices}
    return value if value in allowed else ""


def service_view(fn: Callable) -> Callable:
    """Turn DomainErrors of a POST-only action into a flash and a redirect back."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(request.referrer or url_for("dashboard.index"))
    return wrapper


#: the longest search text kept (a name, an ID number or a student number is far shorter)
MAX_SEARCH = 100


def _search_box() -> Fernet:
    """The key that seals a kept search text: Flask's session cookie is signed, not encrypted, and
    a search is often an ID number, which must not sit readable in a browser on a shared PC."""
    digest = hashlib.sha256(b"examadmin search:" + str(current_app.secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keep_search(endpoint: str, text: str) -> None:
    session[f"search:{endpoint}"] = _search_box().encrypt(text.encode()).decode() if text else ""


def _kept_search(endpoint: str) -> str:
    sealed = session.get(f"search:{endpoint}") or ""
    if not isinstance(sealed, str):
        return ""  # not what _keep_search writes
    try:
        return _search_box().decrypt(sealed.encode(), ttl=SEARCH_KEPT_SECONDS).decode() if sealed else ""
    except (InvalidToken, ValueError):
        return ""  # an old, expired or altered cookie: no search, as after a new sign-in


#: a kept search lasts a working day; then the list shows unfiltered again
SEARCH_KEPT_SECONDS = 8 * 3600


def posted_search(endpoint: str, filters: tuple[str, ...], *, keep_empty: tuple[str, ...] = (),
                  path: dict[str, Any] | None = None):
    """A list's search form arrives as a POST, so that an ID number typed into it never lands in a
    URL (access logs, browser history): the text is kept in the session and the page redirects
    to itself with the other filters and `search=1`, which its pages then carry. `keep_empty`:
    filters whose empty choice means something (全部考试计划 rather than the default plan); `path`:
    the page's own path values (a plan's list), taken from the address, never from the form."""
    from .forms import ConfirmForm

    if ConfirmForm().validate_on_submit():
        text = (request.form.get("q") or "").strip()[:MAX_SEARCH]
        _keep_search(endpoint, text)
    else:
        text = ""
        flash("页面已过期，请重新查询。", "warning")
    params = {k: request.form[k] for k in filters if request.form.get(k) or (k in keep_empty and k in request.form)}
    if text:
        params["search"] = "1"
    return redirect(url_for(endpoint, **(path or {}), **params))


def search_text(endpoint: str, *, by_name_link: bool = False) -> str:
    """The text posted to `posted_search`, while the list shows its result (`search=1`).
    With `by_name_link` a plain `?q=` in the URL (a link by a person's name) works too."""
    if request.args.get("search") == "1":
        return _kept_search(endpoint)
    return request.args.get("q", "")[:MAX_SEARCH] if by_name_link else ""
