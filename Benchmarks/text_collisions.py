#!/usr/bin/env python3
"""Counts text on text in a PDF, as the print tests check it (issue #13).

    Benchmarks/text_collisions.py FILE.pdf [--list]

Reads every word's box with poppler's `pdftotext -bbox`; prints the pairs of words on a page
whose boxes overlap by more than 1 pt both ways (a sliver: the joined letters of Arabic script
touch) and the words outside their page.
"""
import html
import re
import subprocess
import sys


def main():
    out = subprocess.run(["pdftotext", "-bbox", sys.argv[1], "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for line in out.splitlines():
        m = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', line)
        if m:
            pages.append((float(m.group(1)), float(m.group(2)), []))
            continue
        m = re.search(r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">(.*)</word>', line)
        if m and pages:
            pages[-1][2].append(tuple(float(m.group(i)) for i in range(1, 5)) + (html.unescape(m.group(5)),))
    pairs, off, words = [], [], 0
    for n, (w, h, ws) in enumerate(pages, 1):
        words += len(ws)
        off += [(n, x[4]) for x in ws if x[0] < -0.5 or x[1] < -0.5 or x[2] > w + 0.5 or x[3] > h + 0.5]
        ws = sorted(ws)
        for i, a in enumerate(ws):
            for b in ws[i + 1:]:
                if b[0] >= a[2] - 1:
                    break
                if min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1:
                    pairs.append((n, a[4], b[4]))
    if "--list" in sys.argv:
        for p in pairs + off:
            print(*p)
    print(f"{sys.argv[1].rsplit('/', 1)[-1]}: {len(pages)} pages, {words} words, {len(pairs)} overlapping pairs, {len(off)} off the page")


if __name__ == "__main__":
    main()
