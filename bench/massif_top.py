#!/usr/bin/env python3
"""Top allocation sites at the peak of a valgrind massif profile, in bytes per tunnel.

bench/massif_top.py massif.out TUNNELS"""
import re
import sys


def main():
    path, tunnels = sys.argv[1], int(sys.argv[2])
    snaps, cur = [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("snapshot="):
                cur = {"heap": 0, "tree": [], "detailed": False}
                snaps.append(cur)
            elif cur is None:
                continue
            elif line.startswith("mem_heap_B="):
                cur["heap"] = int(line[len("mem_heap_B="):])
            elif line.startswith("heap_tree="):
                cur["detailed"] = line != "heap_tree=empty"
            elif cur["detailed"] and line.startswith(" "):
                cur["tree"].append(line)
    detailed = [s for s in snaps if s["tree"]]
    if not detailed:
        sys.exit("massif_top.py: no detailed snapshot in " + path)
    peak = max(detailed, key=lambda s: s["heap"])
    print("heap at the peak: %.1f MiB with %d tunnels" % (peak["heap"] / 2**20, tunnels))
    def sites(snap):
        out = {}
        for line in snap["tree"]:
            m = re.match(r"^ n\d+: (\d+) (?:0x[0-9A-F]+: )?(.*)$", line)
            if m:
                site = re.sub(r" \(in [^)]*/([^/)]+)\)$", r" (\1)", m.group(2))
                out[site] = out.get(site, 0) + int(m.group(1))
        return out

    base, top = sites(detailed[0]), sites(peak)
    growth = sorted(((b - base.get(k, 0), k) for k, b in top.items()), reverse=True)
    print("allocation sites (direct callers of malloc/calloc) by growth from the first detailed")
    print("snapshot to the peak, in bytes per tunnel:")
    for b, site in growth[:8]:
        if b > 0:
            print("  %7.0f B/tunnel  %s" % (b / tunnels, site))


if __name__ == "__main__":
    main()
