"""build/bench.svg: one bar chart per headline figure, a bar per guest (medians)."""

from guests import GUESTS, columns
from report import med


def write_svg(summary, guests, path, meta):
    charts = [("wrk_c64.rps", "req/s, 64 conns"), ("wrk_c1.p99_ms", "p99 ms, 1 conn"),
              ("boot_to_200_ms", "boot to 200 (ms)"), ("bytes.mbit_s", "/bytes Mbit/s"),
              ("iperf.to_guest_mbit_s", "iperf host->guest Mbit/s"),
              ("iperf.from_guest_mbit_s", "iperf guest->host Mbit/s"),
              ("wrk_c64.counters.irq_per_pkt", "irq/packet, wrk 64"),
              ("idle_cpu_pct", "idle CPU %"),
              ("insn_per_request", "guest insns/request"),
              ("insn_per_tx_byte", "guest insns/sent byte"),
              ("insn_per_rx_byte", "guest insns/received byte"),
              ("synflood.fraction", "req/s kept in a SYN flood")]
    cols = columns(guests)
    palette = {"linux": "#888888", "napi": "#2a7ab9", "irq": "#e08a2c", "poll": "#b0413e",
               "napi-nodefer": "#7fb8e0"}
    colors = {g: palette.get(g, "#444444") for g in cols}
    cw, ch, pad = 230, 170, 30
    per_row = 4
    nrows = (len(charts) + per_row - 1) // per_row
    W, H = per_row * cw + pad, nrows * ch + 70
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="11">' % (W, H), '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="18" font-size="13">make bench: %s, -m %s, %s</text>'
         % (meta["net_label"].split(" (")[0], meta["mem"], meta["when"])]
    for i, g in enumerate(cols):
        o.append('<rect x="%d" y="28" width="10" height="10" fill="%s"/><text x="%d" y="37">%s</text>'
                 % (10 + i * 130, colors[g], 24 + i * 130, GUESTS[g]["label"]))
    for k, (key, title) in enumerate(charts):
        x0 = pad / 2 + (k % per_row) * cw
        y0 = 50 + (k // per_row) * ch
        vals = [(g, med(summary, g, key)) for g in cols]
        top = max([v for _, v in vals if v is not None] or [1]) or 1
        o.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (x0, y0 + 12, title))
        bw = (cw - 40) / max(1, len(cols))
        base = y0 + ch - 30
        for j, (g, v) in enumerate(vals):
            bx = x0 + j * bw
            if v is None:
                o.append('<text x="%.0f" y="%d">n/a</text>' % (bx + 4, base - 4))
                continue
            h = (ch - 60) * v / top
            o.append('<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="%s"/>'
                     % (bx + 3, base - h, bw - 6, h, colors[g]))
            label = ("%.3g" % v) if v < 1000 else "%.0f" % v
            o.append('<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>'
                     % (bx + bw / 2, base - h - 3, label))
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (x0, base, x0 + cw - 40, base))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
