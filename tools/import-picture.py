#!/usr/bin/env python3
"""The import picture of one crate: which module file imports which, per floor.

Usage: tools/import-picture.py <crate dir> [floors file]

Unit-test modules (`#[cfg(test)] mod …` at a file's end) are left out. A node is a
module file (`registration/update.rs` is `registration::update`; a folder's
`mod.rs` is the folder). An arrow is a `crate::` or `super::` path naming another node.
A folder's `mod.rs` re-exporting or declaring its children is not an arrow. With a floors
file (one line per floor, lowest first: `floor-name: module-prefix ...`), arrows from a
lower floor to a higher one are listed as running back up. Cycles (strongly connected
groups of nodes, at file granularity) are always listed.
"""
import os
import re
import sys
from collections import defaultdict

args = [a for a in sys.argv[1:] if not a.startswith("-")]
crate = args[0].rstrip("/")
src = os.path.join(crate, "src")

nodes = {}
for root, _, files in os.walk(src):
    for name in files:
        if not name.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(root, name), src)[:-3]
        parts = rel.split(os.sep)
        if parts[-1] in ("mod", "lib", "main"):
            parts = parts[:-1]
        nodes["::".join(parts) or "crate"] = os.path.join(root, name)


def resolve(path):
    """The longest known node that is a prefix of `path` (a list of segments)."""
    for end in range(len(path), 0, -1):
        name = "::".join(path[:end])
        if name in nodes:
            return name
    return None


def expand(tree):
    """Paths of a `use` tree: `a::{b, c::d}` -> [[a, b], [a, c, d]]."""
    tree = tree.strip()
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
    if start is None:
        return [[s.strip() for s in tree.split(" as ")[0].split("::") if s.strip()]]
    prefix = [s for s in tree[:start].split("::") if s.strip()]
    inner = tree[start + 1 : tree.rindex("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    out = []
    for item in items:
        if item.strip():
            for rest in expand(item):
                out.append(prefix + rest)
    return out


arrows = defaultdict(set)
for node, file in nodes.items():
    text = open(file).read()
    text = re.sub(r"//[^\n]*", "", text)
    # Unit tests sit at the end of a file, in a module whose `super` is the file itself:
    # they are not part of the picture.
    text = text.split("#[cfg(test)]\nmod ")[0]
    here = [] if node == "crate" else node.split("::")
    is_folder = file.endswith("mod.rs") or file.endswith("lib.rs")
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text, re.S):
        paths += expand(" ".join(m.group(1).split()))
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
        paths.append(m.group(1).split("::"))
    for p in paths:
        if not p:
            continue
        if p[0] == "crate":
            target = resolve(p[1:])
        elif p[0] == "super":
            # `super` of a module is its parent, whether it is a file or a folder.
            base = here
            while p and p[0] == "super":
                p, base = p[1:], base[:-1]
            target = resolve(base + p) if base + p else "crate"
        elif p[0] == "self":
            target = resolve(here + p[1:])
        else:
            continue
        if target is None or target == node:
            continue
        # A folder declaring or re-exporting its own children is its table of contents.
        if is_folder and (node == "crate" or target.startswith(node + "::")):
            continue
        arrows[node].add(target)

floors = {}
if len(args) > 1:
    order = []
    for line in open(args[1]):
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, prefixes = line.split(":", 1)
        order.append((name.strip(), prefixes.split()))
    for node in nodes:
        best = None
        for level, (name, prefixes) in enumerate(order):
            for prefix in prefixes:
                if node == prefix or node.startswith(prefix + "::"):
                    if best is None or len(prefix) > best[2]:
                        best = (level, name, len(prefix))
        floors[node] = best

def components(graph):
    """Tarjan's strongly connected components of more than one node."""
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                sccs.append(sorted(group))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            strong(v)
    return sccs


sys.setrecursionlimit(10000)
sccs = components(arrows)
# The same at folder granularity: `claim::start -> registration` is `claim -> registration`.
folders = defaultdict(set)
for node, targets in arrows.items():
    for target in targets:
        a, b = node.split("::")[0], target.split("::")[0]
        if a != b:
            folders[a].add(b)
folder_sccs = components(folders)

print(f"# {os.path.basename(crate)}: {len(nodes)} modules, {sum(len(a) for a in arrows.values())} arrows")
up = []
if floors:
    by_floor = defaultdict(list)
    for node, f in floors.items():
        by_floor[f[0] if f else -1].append(node)
    names = {f[0]: f[1] for f in floors.values() if f}
    for level in sorted(by_floor, reverse=True):
        print(f"floor {level} {names.get(level, '(unassigned)')}: {' '.join(sorted(by_floor[level]))}")
    for node in sorted(arrows):
        for target in sorted(arrows[node]):
            a, b = floors.get(node), floors.get(target)
            if a and b and b[0] > a[0]:
                up.append(f"{node} -> {target}")
    print(f"arrows running back up: {len(up)}")
    for line in up:
        print(f"  {line}")
print(f"import circles: {len(sccs)} between files, {len(folder_sccs)} between top-level modules")
for group in sccs:
    print(f"  files: {' <-> '.join(group)}")
for group in folder_sccs:
    print(f"  modules: {' <-> '.join(group)}")
if "-v" in sys.argv:
    for node in sorted(arrows):
        print(f"{node} -> {', '.join(sorted(arrows[node]))}")
