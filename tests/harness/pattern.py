"""The /bytes/N body (byte i = i mod 251): expected bytes, their SHA-256, a checking reader."""

import hashlib

_PERIOD = bytes(range(251))
_BLOCK = _PERIOD * ((1 << 18) // 251 + 2)      # > 256 KiB + one period


def pattern(offset, n):
    """Bytes offset .. offset+n-1 of /bytes/N (byte i = i mod 251)."""
    out = bytearray()
    while n > 0:
        s = offset % 251
        take = min(n, len(_BLOCK) - s)
        out += _BLOCK[s:s + take]
        offset += take
        n -= take
    return bytes(out)


def pattern_sha256(n):
    h = hashlib.sha256()
    off = 0
    step = len(_BLOCK) - 251
    while off < n:
        take = min(step, n - off)
        s = off % 251
        h.update(_BLOCK[s:s + take])
        off += take
    return h.hexdigest()


def stream_check_pattern(sock, n, first=b"", chunk=1 << 18):
    """Read exactly n body bytes from sock (after `first` already received) checking the
    pattern on the fly; returns (sha256 hex, first mismatch offset or None)."""
    h = hashlib.sha256()
    buf = bytearray(chunk)
    mv = memoryview(buf)
    off = 0
    bad = None

    def feed(data):
        nonlocal off, bad
        h.update(data)
        if bad is None:
            s = off % 251
            if data != _BLOCK[s:s + len(data)]:
                exp = _BLOCK[s:s + len(data)]
                for j in range(len(data)):
                    if data[j] != exp[j]:
                        bad = off + j
                        break
        off += len(data)

    first = first[:n]
    if first:
        for i in range(0, len(first), chunk):
            feed(first[i:i + chunk])
    while off < n:
        got = sock.recv_into(mv, min(chunk, n - off))
        if got == 0:
            raise EOFError("connection closed after %d of %d body bytes" % (off, n))
        feed(mv[:got])
    return h.hexdigest(), bad
