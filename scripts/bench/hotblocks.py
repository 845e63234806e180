#!/usr/bin/python3
"""Where the guest's instructions go: the hotblocks plugin's report (-d plugin -D LOG,
one line per translation block: pc, translations, instructions, executions) folded
onto the ELF's function symbols (nm -n), minus a boot-only report, per unit of work.

    hotblocks.py ELF LOAD.log [--base BOOT.log] [--per N] [--top 25]
"""
import argparse
import bisect
import collections
import re
import subprocess
import sys

LINE = re.compile(r"^0x([0-9a-f]+), (\d+), (\d+), (\d+)$")


def symbols(elf):
    """Sorted function start addresses and names. Assembly labels (newlib's memcpy has
    'loop', 'byte_copy', ...: local, no size) are folded into the function before them:
    the one whose size covers them, or the unsized global one they follow."""
    out = subprocess.run(["nm", "-n", "-S", "--defined-only", elf], capture_output=True,
                         text=True, check=True).stdout
    addrs, names = [], []
    end, owner, asm_owner = 0, None, None
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tTwW":
            a, size, name = int(f[0], 16), int(f[1], 16), f[3]
            owner, end, asm_owner = name, a + size, None
        elif len(f) == 3 and f[1] in "tTwW":
            a, name = int(f[0], 16), f[2]
            if (owner and a < end) or (f[1] == "t" and asm_owner):
                continue
            owner, asm_owner = None, name if f[1] in "TW" else None
        else:
            continue
        addrs.append(a)
        names.append(name)
    return addrs, names


def fold(log, addrs, names):
    """{function: instructions executed} from one hotblocks report."""
    tot = collections.Counter()
    with open(log, errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            pc, _, icount, ecount = (int(m.group(1), 16), int(m.group(2)), int(m.group(3)),
                                     int(m.group(4)))
            i = bisect.bisect_right(addrs, pc) - 1
            name = names[i] if i >= 0 and pc < 0x40000000 else "(outside the ELF: firmware/other)"
            tot[name] += icount * ecount
    return tot


def report(elf, load, base=None, per=1, top=25):
    addrs, names = symbols(elf)
    t = fold(load, addrs, names)
    if base:
        t.subtract(fold(base, addrs, names))
    total = sum(v for v in t.values() if v > 0)
    rows = [(k, v) for k, v in t.most_common(top) if v > 0]
    return total, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("elf")
    ap.add_argument("load")
    ap.add_argument("--base")
    ap.add_argument("--per", type=float, default=1.0, help="divide by this (e.g. requests)")
    ap.add_argument("--top", type=int, default=25)
    o = ap.parse_args()
    total, rows = report(o.elf, o.load, o.base, o.per, o.top)
    print("%-40s %12s %6s" % ("function", "insns/unit", "share"))
    for k, v in rows:
        print("%-40s %12.0f %5.1f%%" % (k, v / o.per, 100.0 * v / total))
    print("%-40s %12.0f" % ("total", total / o.per))
    return 0


if __name__ == "__main__":
    sys.exit(main())
