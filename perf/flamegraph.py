#!/usr/bin/env python3
"""Renders folded stacks ("a;b;c COUNT" per line, from stackcollapse.py) as a flame graph SVG.

A small stand-in for Brendan Gregg's flamegraph.pl (Debian has no package for it): each frame is
a box as wide as its share of the samples, callers below callees; hover shows the name, samples
and percentage. Usage: flamegraph.py [--title TEXT] [--width PX] < folded > out.svg
"""
import argparse
import html
import sys
import zlib


class Node:
    __slots__ = ("name", "count", "children")

    def __init__(self, name):
        self.name = name
        self.count = 0
        self.children = {}


def build(lines):
    root = Node("all")
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        root.count += n
        node = root
        for frame in stack.split(";"):
            child = node.children.get(frame)
            if child is None:
                child = node.children[frame] = Node(frame)
            child.count += n
            node = child
    return root


def depth_of(node):
    return 1 + max((depth_of(c) for c in node.children.values()), default=0)


def color(name):
    h = zlib.crc32(name.encode())
    if name.startswith("[") or name.endswith(".so") or "libc" in name:
        return "rgb(%d,%d,%d)" % (180 + h % 50, 180 + h % 50, 90 + h % 60)   # native / unknown: yellowish
    return "rgb(%d,%d,%d)" % (205 + h % 50, 80 + (h >> 8) % 130, 40 + (h >> 16) % 40)  # warm


def render(root, title, width):
    frame_h, top, pad = 16, 40, 10
    depth = depth_of(root)
    height = top + depth * frame_h + pad * 2
    scale = (width - 2 * pad) / max(root.count, 1)
    out = [
        '<?xml version="1.0" standalone="no"?>',
        '<svg version="1.1" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg" '
        'font-family="Verdana, sans-serif" font-size="11">' % (width, height),
        '<rect width="100%" height="100%" fill="#f8f8f8"/>',
        '<text x="%d" y="24" font-size="16" text-anchor="middle">%s</text>' % (width // 2, html.escape(title)),
    ]

    def emit(node, x, level):
        w = node.count * scale
        if w < 0.3:
            return
        y = height - pad - (level + 1) * frame_h
        pct = 100.0 * node.count / max(root.count, 1)
        label = "%s (%d samples, %.2f%%)" % (node.name, node.count, pct)
        out.append('<g><title>%s</title><rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" rx="2"/>'
                   % (html.escape(label), x, y, w, frame_h - 1, "rgb(220,220,220)" if level == 0 else color(node.name)))
        chars = int((w - 4) / 6.5)
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[: chars - 2] + ".."
            out.append('<text x="%.2f" y="%d">%s</text>' % (x + 3, y + frame_h - 4, html.escape(text)))
        out.append("</g>")
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            emit(child, cx, level + 1)
            cx += child.count * scale

    emit(root, pad, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--title", default="Flame graph")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    root = build(sys.stdin)
    if root.count == 0:
        sys.exit("flamegraph.py: no samples on stdin")
    sys.stdout.write(render(root, "%s (%d samples)" % (args.title, root.count), args.width))


if __name__ == "__main__":
    main()
