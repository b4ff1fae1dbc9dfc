#!/usr/bin/env python3
"""Grouped horizontal bar chart as SVG, no dependencies: bench/plot.py TITLE UNIT IN.tsv OUT.svg

IN.tsv has one bar per line: GROUP<TAB>SERIES<TAB>VALUE (non-numeric values are skipped).
Bars of a group are drawn together, one colour per series, the value printed after each bar."""
import html
import sys

COLOURS = ["#1f5fa8", "#d9822b", "#6b6b6b", "#3a9a5b", "#a83232"]


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: plot.py TITLE UNIT IN.tsv OUT.svg")
    title, unit, src, dst = sys.argv[1:]
    groups, series, rows = [], [], []
    with open(src, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            try:
                v = float(parts[2])
            except ValueError:
                continue
            g, s = parts[0], parts[1]
            if g not in groups:
                groups.append(g)
            if s not in series:
                series.append(s)
            rows.append((g, s, v))
    if not rows:
        sys.exit("plot.py: no numeric rows in " + src)
    vmax = max(v for _, _, v in rows) or 1.0
    bar, gap, left, width = 18, 14, 230, 420
    per_group = {g: [r for r in rows if r[0] == g] for g in groups}
    height = 60 + sum(len(per_group[g]) * bar + gap for g in groups) + 20 * len(series)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{html.escape(title)}</text>',
    ]
    y = 40
    for g in groups:
        out.append(f'<text x="10" y="{y + bar * len(per_group[g]) / 2 + 4:.0f}">'
                   f"{html.escape(g)}</text>")
        for _, s, v in per_group[g]:
            w = max(1.0, v / vmax * width)
            c = COLOURS[series.index(s) % len(COLOURS)]
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 3}" fill="{c}"/>')
            out.append(f'<text x="{left + w + 5:.1f}" y="{y + bar - 7}">{v:g} {html.escape(unit)}</text>')
            y += bar
        y += gap
    for i, s in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        out.append(f'<rect x="{left}" y="{y + 20 * i}" width="12" height="12" fill="{c}"/>')
        out.append(f'<text x="{left + 18}" y="{y + 20 * i + 11}">{html.escape(s)}</text>')
    out.append("</svg>")
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
