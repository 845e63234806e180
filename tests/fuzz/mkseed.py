#!/usr/bin/env python3
"""Writes the lwip_tcp seed corpus and known-crash reproducers from readable
op lists (the byte format is the one tests/fuzz/lwip_host/fuzz_tcp.c reads).

    python3 tests/fuzz/mkseed.py            # rewrites tests/fuzz/{corpus,known}/lwip_tcp/*
"""
import os
import sys

OPEN, SEG, TIME, ACK, SEND, CLIENT, RAW, MISC, CROWD, BURST = range(10)
HTTP, HTTP2, IPERF, CLOSED = 0x00, 0x10, 0x20, 0x30      # op_open port selector
HANDSHAKE = 0x40
# payload selectors
def canned(i): return 0x20 | i
def filler(n100): return 0x60 | n100
MSS_DATA = 0x80
def iperf_hdr(v): return 0xa0 | v
# ack selectors
ACK_ALL = 0x00
ACK_MAX = 0x20
def ack_partial(k32): return 0x80 | k32
# windows (op_ack)
W0, WFULL, W1K, W1 = 0, 4, 8, 12


def open_(slot=0, ip=0, port=HTTP, hs=True, opts=0x80 | 0x40 | 0x0e | 0x20, isn=0):
    return [OPEN, slot | (ip << 2) | port | (HANDSHAKE if hs else 0), opts, isn]

def send(slot, pl, psh=True, fin=False):
    return [SEND, slot | (4 if psh else 0) | (8 if fin else 0), pl]

def ack(slot, sel=ACK_ALL, win=WFULL):
    return [ACK, slot | win, sel]

def wait_ms(ms):
    assert 1 <= ms <= 1271
    return [TIME, (ms - 1) // 10]

def wait_s(s):
    assert 1 <= s <= 128
    return [TIME, 127 + s]

def client(slot, rounds):
    return [CLIENT, slot | ((rounds - 1) << 2)]

def seg(slot, flags, seqd=0, base_lwack=False, ack_sel=ACK_ALL, win=255, pl=0, split=0):
    sq = (0x80 if base_lwack else 0) | (seqd & 0x7f)
    return [SEG, slot, flags, sq, ack_sel, win, pl, split]

def misc_hold(on): return [MISC, (2 << 2) | (0x10 if on else 0)]
def misc_txdone(): return [MISC, 3 << 2]
def misc_drop(slot, n): return [MISC, slot | (n << 4)]
def misc_dup(slot): return [MISC, slot | (1 << 2)]

FIN, SYN, RST, PSH, ACKF = 1, 2, 4, 8, 16


def crowd(n40, hs=True, request=False, iperf=False, b=2):
    """1 + 40 * n40 connections (n40 < 16); b=2 with request: GET /."""
    return [CROWD, (n40 & 15) | 16 | (0x40 if hs else 0) | (0x80 if request else 0), b | (1 if iperf else 0)]


def burst(slot, n4, zero_window=False):
    """1 + 4 * n4 one-byte in-order segments."""
    return [BURST, slot | (4 if zero_window else 0), n4]

CORPUS = {
    "http_get": open_() + send(0, canned(0)) + client(0, 10) + send(0, 0, fin=True) + client(0, 5),
    "http_bytes_200k": open_() + send(0, canned(1)) + client(0, 60),
    "http_pipelined": open_() + send(0, canned(5)) + client(0, 20) + send(0, canned(2)) + client(0, 5),
    "http_close": open_(ip=1) + send(0, canned(10)) + client(0, 30) + wait_s(6),
    "http_split_request": open_() + send(0, canned(8)) + wait_ms(300) + send(0, canned(9)) + client(0, 40),
    "http_zero_window": open_() + send(0, canned(1)) + ack(0, ack_partial(8), W0) + wait_s(2)
                        + ack(0, ack_partial(8), W0) + wait_s(5),
    "http_two_peers": open_(0, 0) + open_(1, 1) + send(0, canned(0)) + send(1, canned(3))
                      + client(0, 5) + client(1, 5),
    "http_tx_hold": misc_hold(True) + open_() + send(0, canned(1)) + wait_s(3) + misc_txdone()
                    + client(0, 30) + misc_hold(False),
    "http_lossy": open_() + send(0, canned(1)) + misc_drop(0, 5) + client(0, 60),
    "http_fin_wait": open_() + send(0, canned(4)) + client(0, 3) + wait_s(30),
    "http_rst": open_() + send(0, canned(1)) + seg(0, RST | ACKF),
    "iperf_upload": open_(port=IPERF) + send(0, iperf_hdr(0)) + send(0, MSS_DATA) + send(0, MSS_DATA)
                    + client(0, 3) + send(0, MSS_DATA, fin=True) + client(0, 5),
    "iperf_ooseq": open_(port=IPERF) + seg(0, ACKF, seqd=1, pl=filler(1)) + send(0, iperf_hdr(0))
                   + client(0, 3),
    "iperf_dual": open_(port=IPERF) + send(0, iperf_hdr(1)) + client(0, 2) + ack(1) + client(1, 10),
    "closed_port": open_(port=CLOSED) + wait_ms(100),
    "syn_only": open_(hs=False) + open_(1, 1, hs=False) + wait_s(10),
    "http_pool_full": crowd(7, request=True) + open_() + send(0, canned(0)) + client(0, 5),
    "pcb_pool_full": crowd(13) + open_() + send(0, canned(0)) + client(0, 5) + wait_s(2),
    "syn_flood": crowd(15, hs=False) + open_() + send(0, canned(0)) + client(0, 5),
    "http_pipelined_bytes": open_() + send(0, canned(7)) + burst(0, 100) + wait_s(2)
                            + burst(0, 100) + wait_s(60),
}

# Fixed crashes, kept as regression seeds (corpus/lwip_tcp/regress_*): the
# persist one by lwIP patch 0001, the lwiperf ones by our own iperf servers.
REGRESSIONS = {
    # issue 9: 24 bytes (the iperf header), out-of-order data leaving a
    # one-byte hole, then the byte: lwiperf gets a chain whose first pbuf is
    # one byte long and pbuf_remove_header(p, 24) fails its assert.
    "lwiperf_one_byte_first_pbuf": open_(port=IPERF) + send(0, iperf_hdr(0))
                                   + seg(0, ACKF, seqd=1, pl=filler(1)) + seg(0, ACKF, pl=0xc0),
    # lwiperf (2.1.3) calls tcp_close() from its err callback, on a pcb lwIP
    # frees (or has freed) around that callback. A client asks for a
    # simultaneous reverse test (ANSWER_TEST|ANSWER_NOW), lwiperf connects
    # back (slot 1), the client answers that SYN with an RST.
    "lwiperf_err_rst_connect_back": open_(port=IPERF) + send(0, iperf_hdr(2))
                                    + seg(1, RST | ACKF) + wait_ms(600),
    # issue 9: ack part of a multi-segment answer with window 0, wait for the
    # retransmission timeout, then ack everything with an open window.
    "persist_empty_unsent": open_() + send(0, canned(16)) + ack(0, ack_partial(16), W0)
                            + wait_s(3) + ack(0, ACK_MAX, WFULL) + wait_s(3),
}
CORPUS.update({"regress_" + n: ops for n, ops in REGRESSIONS.items()})

# Reproducers of crashes not fixed yet (known/lwip_tcp/, each with a .expect).
KNOWN = {}


def write(d, name, ops):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(ops))


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    which = sys.argv[1:] or ["corpus", "known"]
    if "corpus" in which:
        for n, ops in CORPUS.items():
            write(os.path.join(root, "corpus", "lwip_tcp"), n, ops)
    if "known" in which:
        for n, ops in KNOWN.items():
            write(os.path.join(root, "known", "lwip_tcp"), n, ops)


if __name__ == "__main__":
    main()
