"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
the browser reads NUL-terminated JSON commands on fd 3 and answers on fd 4). Standard library
only. Used by test_stats_page.py."""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]


def _high(fd):
    """fd moved to 10 or above, so the child's dup2 onto 3 and 4 cannot clobber it."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


def unavailable():
    return None if os.access(CHROMIUM, os.X_OK) else "%s not installed (Debian chromium)" % CHROMIUM


class Browser:
    def __init__(self, width=1200, height=1600, log_path=None):
        self.profile = tempfile.mkdtemp(prefix="uk-chromium-")
        to_child_r, self._w = (_high(fd) for fd in os.pipe())
        self._r, from_child_w = (_high(fd) for fd in os.pipe())

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self._log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [CHROMIUM] + FLAGS + ["--user-data-dir=" + self.profile,
                                  "--window-size=%d,%d" % (width, height), "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, pass_fds=(3, 4),
            preexec_fn=fds, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._id = 0
        self._buf = b""
        self.session = None

    def call(self, method, params=None, session=True, timeout=30.0):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                m = json.loads(raw)
                if m.get("id") == self._id:
                    if "error" in m:
                        raise RuntimeError("%s: %s" % (method, m["error"]))
                    return m.get("result", {})
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise RuntimeError("no answer to %s (chromium %s)" % (
                    method, "exited %s" % self.proc.returncode if self.proc.poll() is not None
                    else "timed out"))
            r, _, _ = select.select([self._r], [], [], min(left, 1.0))
            if r:
                d = os.read(self._r, 1 << 20)
                if not d:
                    raise RuntimeError("chromium closed the pipe during %s" % method)
                self._buf += d

    def open(self, url):
        t = self.call("Target.createTarget", {"url": url}, session=False)
        s = self.call("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True},
                      session=False)
        self.session = s["sessionId"]

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page exception: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        try:
            if self.proc.poll() is None:
                self.call("Browser.close", session=False, timeout=5)
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()        # our own child, by its PID
            self.proc.wait(5)
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
