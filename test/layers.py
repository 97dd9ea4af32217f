#!/usr/bin/env python3
"""test/layers.py OBJDIR -- the layering of src/, checked from the objects.

Every non-static function or variable of pool_observer is defined in one
object file; an object that leaves a symbol undefined ("U" in nm) calls or
reads it.  That gives a graph between the objects.  It must

  * have no cycle, and
  * go only downwards or sideways: a file may use files of its own layer or
    of lower ones, never of a higher one.

The layers are listed below (the README's Layout section shows them as a
diagram).  A new src/*.c file must be added here, or the check fails.
Exit status 1 on any violation, with one line per violation.
"""
import os
import subprocess
import sys

LAYERS = {
    0: ["util", "guc", "statefile", "outcome_classify"],
    1: ["shmem", "kinds", "intake", "events", "snapshot", "history",
        "counters", "profile_store", "profile", "profile_read",
        "profile_state"],
    2: ["status", "status_snapshot", "lockgraph", "catalog", "pending"],
    3: ["pools", "detect", "detect_takeover", "policy", "outcomes"],
    4: ["cycle", "worker"],
    5: ["hooks", "funcs_util", "funcs_pools", "funcs_events", "funcs_health",
        "funcs_control", "funcs_actions", "funcs_profile", "funcs_advice",
        "advice_history", "advice_profile", "persist", "module"],
}


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj], check=True,
                         capture_output=True, text=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if l.strip()}
    out = subprocess.run(["nm", "-u", obj], check=True,
                         capture_output=True, text=True).stdout
    undefined = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, undefined


def main():
    objdir = sys.argv[1] if len(sys.argv) > 1 else "src"
    layer_of = {name: layer for layer, names in LAYERS.items() for name in names}
    objs = sorted(f[:-2] for f in os.listdir(objdir) if f.endswith(".o"))
    if not objs:
        print("layers: no objects in %s (build first)" % objdir)
        return 1
    errors = []
    for o in objs:
        if o not in layer_of:
            errors.append("%s.c is in no layer: add it to test/layers.py" % o)
    owner = {}
    uses = {}
    for o in objs:
        d, u = symbols(os.path.join(objdir, o + ".o"))
        for s in d:
            owner[s] = o
        uses[o] = u
    edges = {o: set() for o in objs}
    for o in objs:
        for s in uses[o]:
            t = owner.get(s)
            if t is not None and t != o:
                edges[o].add((t, s))
    for o in objs:
        for t, s in sorted(edges[o]):
            if o in layer_of and t in layer_of and layer_of[t] > layer_of[o]:
                errors.append("%s.c (layer %d) uses %s from %s.c (layer %d)"
                              % (o, layer_of[o], s, t, layer_of[t]))
    # cycles, by depth-first search over the object graph
    graph = {o: {t for t, _ in edges[o]} for o in objs}
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cyc = stack[stack.index(m):] + [m]
                errors.append("call cycle: " + " -> ".join(c + ".c" for c in cyc))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for o in objs:
        if o not in state:
            visit(o)
    for e in errors:
        print("layers: " + e)
    if errors:
        return 1
    nedges = sum(len(graph[o]) for o in objs)
    print("layers: %d objects, %d dependencies, no cycle, none upwards" % (len(objs), nedges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
