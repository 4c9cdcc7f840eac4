#!/usr/bin/env python3
"""Lists import cycles between the source files of src/ (file-level module graph).

A file depends on another when it names a path into it (`use crate::a::b`,
`crate::a::b::f(..)` inline, or `super::x`). Declaring a child module
(`pub mod x;`) is not a dependency. Exits 1 when there is a cycle.

    python3 scripts/import_cycles.py [SRC_DIR]
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
src = os.path.normpath(src)

mods = {}  # module path tuple -> file
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(root, f), src)[:-3].split(os.sep)
        if rel[-1] in ("mod", "lib", "main"):
            rel = rel[:-1]
        mods[tuple(rel)] = os.path.join(root, f)


def resolve(path):
    """The longest module prefix of `path` that is a file."""
    for n in range(len(path), -1, -1):
        if tuple(path[:n]) in mods:
            return tuple(path[:n])
    return None


edges = {m: set() for m in mods}
tok = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
for m, f in mods.items():
    text = open(f, encoding="utf-8").read()
    # strip line comments and doc comments
    text = re.sub(r"//[^\n]*", "", text)
    # expand `use x::{a, b::c}` groups one level
    for um in re.finditer(r"\buse\s+((?:crate|super)(?:::\w+)*)::\{([^;]*)\};", text, re.S):
        base = um.group(1)
        for item in re.split(r",", um.group(2)):
            item = item.strip().split(" as ")[0].strip()
            if not item or item.startswith("{"):
                continue
            item = re.sub(r"::\{.*", "", item, flags=re.S)
            text += f"\n{base}::{item}\n"
    is_dir_mod = f.endswith(("mod.rs", "lib.rs", "main.rs"))
    for t in tok.finditer(text):
        kind, rest = t.group(1), t.group(2)
        parts = [p for p in rest.split("::") if p and p != "{"]
        if kind == "crate":
            path = parts
        else:
            base = list(m) if is_dir_mod else list(m[:-1])
            while parts and parts[0] == "super":
                parts = parts[1:]
                base = base[:-1]
            # `super::` from a file names its parent module
            path = base[:-1] + parts if is_dir_mod else base + parts
            if not is_dir_mod:
                path = base + parts
        target = resolve(path)
        if target is not None and target != m:
            edges[m].add(target)
    # a module file naming its own child modules by relative path (`child::x`)
    if is_dir_mod:
        children = [k[-1] for k in mods if len(k) == len(m) + 1 and k[: len(m)] == m]
        for c in children:
            body = re.sub(r"\b(pub(\([^)]*\))?\s+)?mod\s+" + c + r"\s*;", "", text)
            if re.search(r"(?<![:\w])" + c + r"::", body):
                edges[m].add(m + (c,))

# Tarjan's strongly connected components
index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]


def strong(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(comp)


sys.setrecursionlimit(10000)
for v in sorted(mods):
    if v not in index:
        strong(v)
name = lambda m: "::".join(m) or "crate"
for c in sccs:
    members = sorted(c)
    print("cycle:", ", ".join(name(m) for m in members))
    for a in members:
        for b in sorted(edges[a]):
            if b in c:
                print(f"   {name(a)} -> {name(b)}")
print(f"{len(mods)} files, {sum(len(e) for e in edges.values())} edges, {len(sccs)} cycles")
sys.exit(1 if sccs else 0)
