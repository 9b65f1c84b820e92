"""Parsing untrusted files in a child process with a memory cap and a time limit.

The parsers of uploaded files (python-calamine for sheets, Pillow for photos) are native
code. A hostile file can make one allocate without bound, so that Rust aborts or the
kernel kills the process, or loop for ever; in the web process or the job worker that
takes every user's work down with it. Here the parse runs in a child process whose
address space is capped (RLIMIT_AS) and whose run time is bounded; when the child dies or
overruns, the caller gets a `SandboxError` that says which, and its own process carries on.

Only plain data crosses the boundary: the function's arguments and its return value (or
the exception it raised) are pickled through a pipe.
"""
from __future__ import annotations

import faulthandler
import multiprocessing
import os
import resource
import signal
import threading
import time
from typing import Any, Callable, Iterable

MB = 1024 * 1024

#: modules the fork server imports once, so that each child starts without importing them
_PRELOAD: list[str] = ["__main__"]


class SandboxError(Exception):
    """The child did not give an answer: `reason` is "time", "memory" or "crash"."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def process_context(preload: Iterable[str] = ()):
    """The cheapest start method that is safe here.

    fork is instant but can hang a child of a process that runs other threads (the web
    server, the job worker's consumer: a lock held by another thread at the fork stays held
    in the child), so it is used only when this is the one thread (CLI, benchmark, tests).
    Otherwise a fork server: it imports the app once (2-3 s) and forks ready children from
    then on; spawn, where there is no fork server, pays the import for every child.
    """
    for module in preload:
        if module not in _PRELOAD:
            _PRELOAD.append(module)
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(_PRELOAD))  # no effect once the server runs
    return context


def _address_space() -> int | None:
    """This process's current virtual size in bytes (Linux), None where it cannot be read."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def limit_this_process(memory_mb: int, seconds: float | None = None) -> None:
    """Cap this (child) process: `memory_mb` of address space beyond what it has now, CPU
    time a little over `seconds`, no core files."""
    current = _address_space()
    if current is not None and hasattr(resource, "RLIMIT_AS"):
        cap = current + memory_mb * MB
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if seconds is not None and hasattr(resource, "RLIMIT_CPU"):
        cpu = int(seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    if hasattr(resource, "RLIMIT_CORE"):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(conn, fn: Callable, args: tuple, memory_mb: int, seconds: float) -> None:
    try:
        os.environ["RUST_BACKTRACE"] = "0"  # a Rust abort prints one line, not a page
        faulthandler.disable()  # an abort here is an answer, not a bug of this process to dump
        limit_this_process(memory_mb, seconds)
        try:
            answer = ("ok", fn(*args))
        except MemoryError:
            answer = ("memory", None)
        except Exception as exc:  # the parser's own refusal travels back as it was raised
            answer = ("error", exc)
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("memory", None))
        except Exception as exc:  # an exception or value that does not pickle
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def run(fn: Callable, *args: Any, memory_mb: int, seconds: float) -> Any:
    """fn(*args) in a child process with at most `memory_mb` more memory and `seconds`.

    Returns what fn returned; re-raises what it raised; raises SandboxError when the child
    ran out of memory, out of time, or died. `fn` must be a module-level function.
    """
    context = process_context([fn.__module__])
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, fn, args, memory_mb, seconds), daemon=True)
    process.start()
    sender.close()  # the child holds the other end: EOF here once it is gone
    try:
        deadline = time.monotonic() + seconds
        if not receiver.poll(max(deadline - time.monotonic(), 0)):
            if process.is_alive():
                raise SandboxError("time", f"no answer within {seconds} s")
        try:
            status, payload = receiver.recv()
        except (EOFError, OSError):
            process.join(5)
            code = process.exitcode
            if code is not None and code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = str(-code)
                reason = "time" if -code == signal.SIGXCPU else "crash"
                raise SandboxError(reason, f"killed by {name}") from None
            raise SandboxError("crash", f"exit status {code}") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    if status == "ok":
        return payload
    if status == "memory":
        raise SandboxError("memory", "MemoryError")
    raise payload
