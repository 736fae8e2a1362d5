#!/usr/bin/env python3
"""Non-test source files over a line limit, and functions over a line limit.

Usage: tools/sizes.py [--file-max 300] [--fn-max 60] [crate dir ...]

A file's unit-test module (`#[cfg(test)] mod …` to its end) is left out of its count, as
are `tests/`, `benches/` and `fuzz/` files. A function runs from its `fn` line to the
line of its closing brace, found by counting braces outside strings, chars and comments.
"""
import os
import re
import sys

args = sys.argv[1:]
file_max, fn_max, roots = 300, 60, []
while args:
    a = args.pop(0)
    if a == "--file-max":
        file_max = int(args.pop(0))
    elif a == "--fn-max":
        fn_max = int(args.pop(0))
    else:
        roots.append(a.rstrip("/"))
if not roots:
    roots = sorted(d for d in os.listdir(".") if os.path.isfile(os.path.join(d, "Cargo.toml")) and d != "fuzz")

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def code_lines(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and lines[i + 1].lstrip().startswith("mod "):
            return lines[:i]
    return lines


def braces(line, state):
    """Net `{` minus `}` on a line, skipping strings, chars and comments."""
    depth, i = 0, 0
    while i < len(line):
        c = line[i]
        if state["block"]:
            if line.startswith("*/", i):
                state["block"] = False
                i += 1
        elif state["raw"] is not None:
            if line.startswith('"' + "#" * state["raw"], i):
                i += state["raw"]
                state["raw"] = None
        elif state["str"]:
            if c == "\\":
                i += 1
            elif c == '"':
                state["str"] = False
        elif line.startswith("//", i):
            break
        elif line.startswith("/*", i):
            state["block"] = True
            i += 1
        elif m := re.match(r'r(#*)"', line[i:]):
            state["raw"] = len(m.group(1))
            i += len(m.group(0)) - 1
        elif c == '"':
            state["str"] = True
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", line[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", line[i:]).group(0)) - 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return depth


long_files, long_fns = [], []
for root in roots:
    for dirpath, dirs, files in os.walk(os.path.join(root, "src")):
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            lines = code_lines(path)
            if len(lines) > file_max:
                long_files.append((len(lines), path))
            for i, line in enumerate(lines):
                m = FN.match(line)
                if not m:
                    continue
                state = {"block": False, "str": False, "raw": None}
                depth, opened = 0, False
                for j in range(i, len(lines)):
                    if not opened and lines[j].rstrip().endswith(";") and "{" not in lines[j]:
                        break  # a declaration without a body
                    d = braces(lines[j], state)
                    if "{" in lines[j]:
                        opened = True
                    depth += d
                    if opened and depth <= 0:
                        if j - i + 1 > fn_max:
                            long_fns.append((j - i + 1, f"{path}:{i + 1} {m.group(6)}"))
                        break

print(f"files over {file_max} lines: {len(long_files)}")
for n, p in sorted(long_files, reverse=True):
    print(f"  {n:5} {p}")
print(f"functions over {fn_max} lines: {len(long_fns)}")
for n, p in sorted(long_fns, reverse=True):
    print(f"  {n:5} {p}")
