"""checker.py: the history checks of the chaos runner (rules a-e of tests/chaos/README.md).

Pure functions over a History (times are seconds since the schedule started, on the
runner's monotonic clock; agents' event times, UNIX ms, are converted to it): no process,
no socket, so test_checker.py can feed it made-up histories.

Vocabulary
- An *impairment* of node X is an interval during which X may rightly be declared failed:
  down (killed/crashed, until its restarted API answers), paused (SIGSTOP..SIGCONT),
  minority (X is on the smaller side of a partition, either direction of a one-way cut),
  heavy loss (a loss rule of at least --heavy-loss on X's port; the 10-30 % the runner
  injects is below it: docs/protocol.md claims a member losing even 80 % is not voted out).
  Each interval is widened by --grace-before before its start and --grace-after after its
  end.
- X and O are *cut* while a partition puts them on different sides (same widening).
- *No majority is reachable* for a killed node's vote group while every healthy member of
  the group is in touch (both ways, running, not paused, exact fault times) with at most
  half of the members its agent holds live (alive or suspect, from its events). The agents
  declare a failure only when more than half of those answer the decider (docs/protocol.md,
  Reach rounds), so during such a time nobody may; rule b's deadline then runs from the
  moment a majority is reachable again.
"""

import bisect
import statistics

K = 5  # vote group size (hs_config_default)


def add_args(p):
    g = p.add_argument_group("checker")
    g.add_argument("--grace-before", type=float, default=0.5,
                   help="an impairment is counted from this long before its recorded start")
    g.add_argument("--grace-after", type=float, default=3.0,
                   help="... and until this long after its end")
    g.add_argument("--heavy-loss", type=float, default=0.5,
                   help="a loss rule of at least this probability excuses a failure")
    g.add_argument("--detect-deadline", type=float, default=5.0,
                   help="rule b: every live member shows a killed node failed within this")
    g.add_argument("--converge-limit", type=float, default=10.0,
                   help="rule c: views converge within this after the last fault")


class History:
    def __init__(self, **kw):
        self.__dict__.update(kw)


# ---------------------------------------------------------------------------------------
# the ring (lib/prng.h hs_hash_str, lib/member_table.c observers = K ring predecessors)

M64 = (1 << 64) - 1


def ring_hash(name):
    h = 0xcbf29ce484222325
    for ch in name.encode():
        h = ((h ^ ch) * 0x100000001b3) & M64
    z = (h + 0x9e3779b97f4a7c15) & M64
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def observers(x, live):
    """x's vote group among the live names (x included in live)."""
    ring = sorted(set(live) | {x}, key=ring_hash)
    k = min(K, len(ring) - 1)
    i = ring.index(x)
    return [ring[(i - s) % len(ring)] for s in range(1, k + 1)]


# ---------------------------------------------------------------------------------------


def pctl(xs, q):
    """nearest-rank percentile"""
    xs = sorted(xs)
    if not xs:
        return None
    r = max(1, int(-(-q * len(xs) // 100)))
    return xs[min(r, len(xs)) - 1]


def stats(xs):
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "median": round(statistics.median(xs), 3),
            "p99": round(pctl(xs, 99), 3), "max": round(max(xs), 3), "min": round(min(xs), 3)}


class Model:
    """Impairments and cuts from the fault list."""

    def __init__(self, h, args):
        self.h = h
        self.gb = args.grace_before
        self.ga = args.grace_after
        self.per = views_of(h)
        self.per_t = {o: [e[0] for e in evs] for o, evs in self.per.items()}
        self.imp = {n: [] for n in h.nodes}    # name -> [(s, e, kind, fault id)]
        self.cuts = []                         # (s, e, set A, set B, fault id)
        t_end = h.t_last
        for f in h.faults:
            s, e = f["start"], f["end"] if f["end"] is not None else t_end
            kind = f["kind"]
            if kind in ("kill", "crash-restart"):
                self.imp[f["nodes"][0]].append((s, e, "down", f["id"]))
            elif kind == "pause":
                self.imp[f["nodes"][0]].append((s, e, "paused", f["id"]))
            elif kind == "loss":
                if f["params"]["p"] >= args.heavy_loss:
                    self.imp[f["nodes"][0]].append((s, e, "heavy-loss", f["id"]))
            elif kind in ("partition", "oneway"):
                mino = set(f["params"]["minority"])
                majo = set(f["params"]["majority"])
                for x in mino:
                    self.imp[x].append((s, e, "minority", f["id"]))
                self.cuts.append((s, e, mino, majo, f["id"]))

    def impaired(self, x, t, kinds=None):
        for s, e, k, fid in self.imp.get(x, ()):
            if (kinds is None or k in kinds) and s - self.gb <= t <= e + self.ga:
                return (k, fid)
        return None

    def impaired_during(self, x, t1, t2, kinds=None):
        for s, e, k, fid in self.imp.get(x, ()):
            if (kinds is None or k in kinds) and s - self.gb <= t2 and t1 <= e + self.ga:
                return (k, fid)
        return None

    def cut(self, x, o, t, grace=True):
        gb, ga = (self.gb, self.ga) if grace else (0.0, 0.0)
        for s, e, a, b, fid in self.cuts:
            if s - gb <= t <= e + ga and ((x in a and o in b) or (x in b and o in a)):
                return fid
        return None

    def down_at(self, t, kinds=("down",)):
        return {x for x, ivs in self.imp.items() for s, e, k, _ in ivs if k in kinds and
                s <= t < e}

    def held_live(self, o, t):
        """The members o's agent (its latest start before t) showed alive or suspect at t."""
        evs = self.per.get(o, ())
        i = bisect.bisect_right(self.per_t[o], t) if evs else 0
        view, gen = {}, None
        for tt, g, ev in evs[:i]:
            if g != gen:
                view, gen = {}, g
            view[ev.get("name")] = ev.get("status")
        return {x for x, st in view.items() if st in ("alive", "suspect")} | {o}

    def no_majority(self, obs, t):
        """No member of obs reaches more than half of the members its agent holds live at t
        (its Reach rounds go to those, and a verdict needs more than half to answer)."""
        up = set(self.h.nodes) - self.down_at(t, ("down", "paused"))
        for o in obs:
            if o not in up:
                continue
            ring = self.held_live(o, t)
            reach = [x for x in ring if x in up and not self.cut(o, x, t, False)]
            if 2 * len(reach) > len(ring):
                return False
        return True

    def majority_back(self, obs, t0, t_stop, deadline):
        """When obs can next decide for a kill at t0: the end of the last stretch without a
        reachable majority that begins before the deadline counted from the previous one."""
        bounds = sorted({b for f in self.h.faults for b in (f["start"], f["end"])
                         if b is not None and t0 < b < t_stop} | {t0, t_stop})
        segs = [(a, b) for a, b in zip(bounds, bounds[1:])
                if self.no_majority(obs, (a + b) / 2)]
        te = t0
        for a, b in segs:
            if a < te + deadline and b > te:
                te = b
        return te


def views_of(h):
    """per observer: events sorted by time"""
    per = {}
    for t, o, gen, ev in sorted(h.events, key=lambda e: (e[0], e[3].get("id", 0))):
        per.setdefault(o, []).append((t, gen, ev))
    return per


def fmt_event(t, o, ev):
    return "  t=%8.3f %-4s %-14s %-4s status=%-7s inc=%s" % (
        t, o, ev.get("event"), ev.get("name"), ev.get("status"), ev.get("incarnation"))


def fmt_fault(f):
    p = {k: v for k, v in f["params"].items() if not k.startswith("_")}
    if "minority" in p:
        p = dict(p)
        p["minority"] = ",".join(p["minority"])
        p.pop("majority", None)
    return "  fault #%d %-9s %-4s start=%8.3f end=%s %s" % (
        f["id"], f["kind"], ",".join(f["nodes"][:3]) + ("..." if len(f["nodes"]) > 3 else ""),
        f["start"], "%8.3f" % f["end"] if f["end"] is not None else "    -   ", p)


def excerpt(h, names, t1, t2, max_events=60):
    """faults overlapping [t1-10, t2] (all of them: a fault elsewhere may matter) and the
    events about any of names in [t1, t2]"""
    lines = ["faults active between t=%.1f and t=%.1f:" % (t1 - 10, t2)]
    for f in h.faults:
        e = f["end"] if f["end"] is not None else h.t_last
        if f["start"] <= t2 and e >= t1 - 10:
            lines.append(fmt_fault(f))
    evs = [(t, o, ev) for t, o, gen, ev in h.events
           if t1 <= t <= t2 and ev.get("name") in names and ev.get("event") != "config-change"]
    evs.sort(key=lambda x: x[0])
    lines.append("events about %s between t=%.1f and t=%.1f (%d, first %d):"
                 % (",".join(sorted(names)), t1, t2, len(evs), min(len(evs), max_events)))
    lines += [fmt_event(*x) for x in evs[:max_events]]
    return lines


def deciders(h, x, inc):
    """who decided the verdict (x, inc) and on whose votes, from the agents' own records
    (`hearsay explain`, collected at the end of the run; older records may have rotated out)"""
    offs = sorted(t - ev["time_ms"] / 1000.0 for t, o, g, ev in h.events if "time_ms" in ev)
    off = offs[len(offs) // 2] if offs else 0.0
    lines = []
    for o, body in sorted(getattr(h, "explain", {}).get(x, {}).items()):
        for r in body.get("history", []):
            if r.get("event") != "failed" or r.get("learnt") or r.get("incarnation") != inc:
                continue
            votes = ", ".join("%s@%.3f" % (v.get("name"), v["time_ms"] / 1000.0 + off)
                              for v in r.get("votes", []))
            lines.append("decided by %s at t=%.3f on the votes of %s"
                         % (o, r["time_ms"] / 1000.0 + off, votes or "nobody"))
    return lines or ["decider: not in any agent's record (rotated out, or it restarted)"]


# ---------------------------------------------------------------------------------------


def check(h, args):
    m = Model(h, args)
    per = views_of(h)
    violations = []
    summary = {"seed": h.seed, "duration_s": h.duration}

    kinds = {}
    for f in h.faults:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    kinds["config-writes"] = len(h.writes)
    kinds["key-rotation-steps"] = len(h.rotation)
    summary["faults"] = kinds

    # -- a) false failures ------------------------------------------------------------------
    # A *sighting* is an event of observer O showing X failed at t. It is explained when X
    # is impaired at t, or O is (down, paused, minority), or a partition separates X and O
    # at t (all with the grace margins). A verdict (X, incarnation) with at least one
    # unexplained sighting is a false failure: a member that was running and reachable by a
    # majority was shown failed by a member that could reach it. Two kinds:
    # - "declared-while-healthy": the verdict's first sightings (those within 50 ms of the
    #   first: event times have 1 ms resolution and the decider is among them) are all
    #   unexplained, so the members that voted it out could reach it;
    # - "cut-off-verdict": the verdict was reached by impaired or cut-off observers (the
    #   minority side of a partition, a deaf side of a one-way cut) and then shown by
    #   connected healthy members (merged after the heal, or carried across a one-way cut):
    #   docs/reliability.md finding 3 (prevented since by the Reach rounds of the core).
    #   Both fail the run.
    decl = {}
    for t, o, gen, ev in h.events:
        if ev.get("status") != "failed" or ev.get("name") == o:
            continue
        decl.setdefault((ev.get("name"), ev.get("incarnation")), []).append((t, o, ev))

    def explain(x, o, t):
        imp = m.impaired(x, t)
        if imp:
            return "subject-%s" % imp[0]
        imp = m.impaired(o, t, ("down", "paused", "minority"))
        if imp:
            return "observer-%s" % imp[0]
        if m.cut(x, o, t) is not None:
            return "observer-cut-from-subject"
        return None
    false_fail = 0
    sightings_bad = 0
    explained = {}
    categories = {}
    mark_s = []
    origins = {}
    for (x, inc), evs in sorted(decl.items(), key=lambda kv: min(e[0] for e in kv[1])):
        evs.sort(key=lambda e: e[0])
        bad = [(t, o) for t, o, ev in evs if explain(x, o, t) is None]
        bad_ids = [ev.get("id", 0) for t, o, ev in evs if explain(x, o, t) is None]
        t0, o0, ev0 = evs[0]
        early = [(t, o, explain(x, o, t)) for t, o, ev in evs if t <= t0 + 0.05]
        why0 = next((w for t, o, w in early if w), None)
        if not bad:
            explained[why0 or explain(x, o0, t0)] = explained.get(why0 or explain(x, o0, t0),
                                                                   0) + 1
            continue
        cat = "declared-while-healthy" if why0 is None else "cut-off-verdict"
        categories[cat] = categories.get(cat, 0) + 1
        sightings_bad += len(bad)
        # how long the connected members showed it failed (until their next word on it)
        for (t, o), eid in zip(bad, bad_ids):
            nxt = next((tt for tt, gen, e in per.get(o, ()) if (tt, e.get("id", 0)) > (t, eid)
                        and e.get("name") == x and e.get("status") != "failed" and
                        e.get("event") != "config-change"), None)
            mark_s.append((nxt if nxt is not None else h.t_last) - t)
        if why0:
            fid = None
            for t, o, w in early:
                if w:
                    imp = m.impaired(x, t) or m.impaired(o, t, ("down", "paused", "minority"))
                    fid = imp[1] if imp else m.cut(x, o, t)
                    break
            f = h.faults[fid] if fid is not None else None
            org = "%s%s" % (f["kind"], "(%s)" % f["params"].get("direction")
                            if f["kind"] == "oneway" else "") if f else "?"
            org += ", shown %s" % ("during it" if f and (f["end"] is None or
                                                        bad[0][0] <= f["end"]) else
                                  "after its end")
            origins[org] = origins.get(org, 0) + 1
        live = [n for n in h.nodes if n not in m.down_at(t0 - 0.01) or n == x]
        obs = observers(x, live)
        obs_imp = ["%s:%s" % (o, (m.impaired(o, t0) or ("-",))[0]) for o in obs]
        v = {"rule": "a", "what": "false failure (%s): %s (incarnation %s) shown failed by %d "
             "connected healthy member(s) (first %s at t=%.3f) while it was running and "
             "reachable by a majority; verdict first shown at t=%.3f by %s%s; vote group %s"
             % (cat, x, inc, len(bad), bad[0][1], bad[0][0], t0,
                ",".join(o for t, o, w in early), " (%s)" % why0 if why0 else "",
                ", ".join(obs_imp)),
             "node": x, "t": bad[0][0], "category": cat,
             "excerpt": deciders(h, x, inc) +
             excerpt(h, {x, o0, bad[0][1]}, min(t0, bad[0][0]) - 8, bad[0][0] + 2)}
        false_fail += 1
        violations.append(v)
    summary["failure_verdicts"] = len(decl)
    summary["failure_verdicts_explained"] = explained
    summary["false_failures"] = false_fail
    summary["false_failure_kinds"] = categories
    summary["false_failure_sightings"] = sightings_bad
    summary["false_mark_duration_s"] = stats(mark_s)
    summary["cut_off_verdict_origins"] = origins

    # -- b) detection of kills --------------------------------------------------------------
    D = args.detect_deadline
    det_judged, det_all, unjudged, waited = [], [], {}, []
    kill_rows = []
    for f in h.faults:
        if f["kind"] != "kill":
            continue
        x, tk = f["nodes"][0], f["start"]
        starts_after = [s for s, r in h.starts.get(x, []) if s >= tk]
        t_back = starts_after[0] if starts_after else (f["end"] or h.t_last)
        w1, w2 = tk - 1.0, tk + D
        live = [n for n in h.nodes if n not in m.down_at(tk - 0.01) or n == x]
        obs = observers(x, live)
        healthy = lambda o: not m.impaired_during(o, w1, w2, ("down", "paused", "minority"))
        obs_ok = [o for o in obs if healthy(o)]
        S = [o for o in h.nodes if o != x and healthy(o)]
        reason = None
        group_ok = len(obs_ok) >= len(obs) // 2 + 1
        te = m.majority_back(obs_ok, tk, t_back, D) if group_ok else tk  # the deadline's start
        if t_back - te < D + 0.5:
            reason = "restarted within %.1f s" % (D + 0.5) if te == tk else \
                "restarted within %.1f s of a majority reachable" % (D + 0.5)
        elif not group_ok:
            reason = "vote group impaired"
        # per observer: first time >= tk it shows x failed
        times, missing = {}, []
        for o in S:
            st = None
            first = None
            for t, gen, ev in per.get(o, ()):
                if ev.get("name") != x:
                    continue
                if t <= tk:
                    st = ev.get("status")
                    continue
                if t > t_back:
                    break
                if ev.get("status") == "failed":
                    first = t
                    break
            if st == "failed":
                first = tk
            if first is None:
                missing.append(o)
            else:
                times[o] = first - tk
        det = max(times.values()) if times and not missing else None
        wait = te - tk
        row = {"majority_wait_s": round(wait, 3), "fault": f["id"], "node": x, "t": tk, "role": f["params"].get("role"),
               "down_s": round(t_back - tk, 3), "judged": reason is None,
               "reason": reason, "observers": obs, "observers_ok": len(obs_ok),
               "judged_members": len(S), "detect_s": round(det, 3) if det is not None else None,
               "missing": missing}
        kill_rows.append(row)
        if det is not None:
            det_all.append(det)
        if reason is not None:
            unjudged[reason.split(" within")[0]] = unjudged.get(reason.split(" within")[0], 0) + 1
            continue
        if wait > 0:
            waited.append(wait)
        det_judged.append(det - wait if det is not None else float("inf"))
        if det is None or det - wait > D:
            slow = sorted(times.items(), key=lambda kv: -kv[1])[:5]
            violations.append({
                "rule": "b", "what": "kill of %s at t=%.3f (%s, down %.1f s): %s" % (
                    x, tk, row["role"], t_back - tk,
                    "not shown failed by %s before its restart" % ",".join(missing)
                    if missing else "shown failed by every live member only after %.3f s%s "
                    "(slowest: %s)" % (det, " (%.3f s after a majority was reachable again)"
                                       % (det - wait) if wait else "",
                                       ", ".join("%s %.2f" % kv for kv in slow))),
                "node": x, "t": tk,
                "excerpt": ["vote group %s, healthy %d; judged members %d"
                            % (",".join(obs), len(obs_ok), len(S))] +
                excerpt(h, {x}, tk - 1, tk + D + 2)})
    fin = [d for d in det_judged if d != float("inf")]
    summary["kills"] = {
        "total": len(kill_rows), "of_leader": sum(r["role"] == "leader" for r in kill_rows),
        "of_seed": sum(r["node"] in h.seeds for r in kill_rows),
        "judged": len(det_judged), "not_judged": unjudged,
        "detect_s_judged": stats(fin), "undetected_judged": len(det_judged) - len(fin),
        "late_judged": sum(1 for d in det_judged if d > D),
        "waited_for_majority": len(waited), "majority_wait_s": stats(waited),
        "detect_s_all_measured": stats(det_all)}
    summary["crash_restarts"] = sum(f["kind"] == "crash-restart" for f in h.faults)

    # -- c) convergence ---------------------------------------------------------------------
    summary["converge_after_last_fault_s"] = h.converge_s
    trace = []
    for t, bad in h.converge_trace:
        pairs = sorted("%s:%s=%s" % (o, mm, st) for o, v in bad.items()
                       for mm, st in (v.items() if isinstance(v, dict) else [("*", v)]))
        trace.append("t=%.3f (+%.3f) %d non-alive entries: %s%s" % (
            t, t - h.t_last, len(pairs), " ".join(pairs[:12]), " ..." if len(pairs) > 12 else ""))
    summary["converge_trace"] = trace
    if h.converge_s is None or h.converge_s > args.converge_limit:
        violations.append({
            "rule": "c", "what": "views did not converge (all %d alive everywhere) within %.0f s "
            "of the last fault (t=%.3f): %s" % (len(h.nodes), args.converge_limit, h.t_last,
                                                "took %.3f s" % h.converge_s if h.converge_s
                                                else "not within the wait"),
            "t": h.t_last,
            "excerpt": ["non-alive entries per observer at the end of the wait: %s"
                        % h.converge_views] + excerpt(h, set(h.nodes), h.t_last - 10,
                                                      h.t_last + 1, 30)})

    # -- d) configuration writes and seeds' logs --------------------------------------------
    acked = [w for w in h.writes if w["acked"]]
    last = {}
    later = {}
    for w in sorted(h.writes, key=lambda w: w["i"]):
        if w["acked"]:
            last[w["key"]] = w
            later[w["key"]] = []
        elif w["key"] in last:
            later[w["key"]].append(w["value"])
        else:
            later.setdefault(w["key"], []).append(w["value"])
    lost = []
    fin_cfg = h.final["config"]
    for seed in h.seeds:
        cfg = fin_cfg.get(seed) or {}
        settings = cfg.get("settings") if isinstance(cfg, dict) else None
        if not isinstance(settings, dict):
            lost.append((seed, "*", None, "no configuration: %s" % cfg))
            continue
        for key, w in sorted(last.items()):
            got = settings.get(key)
            if got != w["value"] and got not in later.get(key, []):
                lost.append((seed, key, w["value"], got))
    for key, w in sorted(last.items()):
        got = h.final["consistent"].get(key)
        if got != w["value"] and got not in later.get(key, []):
            lost.append(("consistent read", key, w["value"], got))
    vs = [w["version"] for w in sorted(acked, key=lambda w: w["i"])]
    reuse = [(acked[i - 1]["i"], vs[i - 1], acked[i]["i"], vs[i]) for i in range(1, len(vs))
             if not (isinstance(vs[i], int) and isinstance(vs[i - 1], int) and vs[i] > vs[i - 1])]
    lost_writes = sorted({(k, v) for s, k, v, g in lost if k != "*"})
    summary["writes"] = {"attempted": len(h.writes), "acknowledged": len(acked),
                         "not_acknowledged": len(h.writes) - len(acked),
                         "via_cli": sum(w["cli"] for w in h.writes),
                         "lost": len(lost_writes), "version_reuse": len(reuse),
                         "errors": _count(str(w["status"]) for w in h.writes if not w["acked"])}
    for s, k, v, g in lost:
        violations.append({"rule": "d", "what": "acknowledged write %s=%s missing on %s "
                           "(holds %r)" % (k, v, s, g), "t": last[k]["t_end"] if k in last
                           else h.t_last,
                           "excerpt": ["the write: %s" % last.get(k), "later attempts: %s"
                                       % later.get(k)]})
    for x in reuse:
        violations.append({"rule": "d", "what": "acknowledged versions not increasing: write "
                           "#%s got version %s, then write #%s got %s (an acknowledged entry "
                           "was lost or reordered)" % x, "t": None, "excerpt": []})
    if not acked:
        violations.append({"rule": "d", "what": "no configuration write was acknowledged",
                           "t": None, "excerpt": []})
    rs = h.final["raft"]
    cfgs = [c for c in fin_cfg.values() if isinstance(c, dict) and "settings" in c]
    agree = h.final["agree_s"] is not None
    same_settings = len({repr(sorted(c["settings"].items())) for c in cfgs}) == 1 and \
        len(cfgs) == len(h.seeds)
    same_version = len({c.get("version") for c in cfgs}) == 1
    same_keys = len({c.get("keys") for c in cfgs}) == 1
    summary["seeds"] = {"agree_s": h.final["agree_s"], "same_settings": same_settings,
                        "same_version": same_version, "same_key_count": same_keys,
                        "raft": {k: {f: v.get(f) for f in ("state", "term", "commit",
                                                           "last_index", "config_version")}
                                 for k, v in rs.items()},
                        "keys": {k: c.get("keys") for k, c in fin_cfg.items()
                                 if isinstance(c, dict)}}
    if not (agree and same_settings and same_version and same_keys):
        violations.append({"rule": "d", "what": "seeds disagree after the run (Raft commit/"
                           "applied/last_index/term/config version equal and one leader: %s; "
                           "settings equal: %s; version equal: %s; key count equal: %s)"
                           % (agree, same_settings, same_version, same_keys), "t": None,
                           "excerpt": ["%s: %s" % kv for kv in sorted(rs.items())] +
                           ["%s config version %s keys %s" % (k, c.get("version"), c.get("keys"))
                            for k, c in sorted(fin_cfg.items()) if isinstance(c, dict)]})

    # -- key rotation -----------------------------------------------------------------------
    if h.rotate:
        summary["key_rotation"] = [{k: r[k] for k in ("step", "node", "t_start", "t_end", "rc")}
                                   for r in h.rotation]
        summary["key_rotation_list"] = h.final.get("keys_list")
    else:
        summary["key_rotation"] = "skipped (--no-rotate, or `hearsay keys` not available)"

    # -- e) crashes, sanitizers -------------------------------------------------------------
    summary["crashes"] = len(h.crashes)
    for c in h.crashes:
        violations.append({"rule": "e", "what": "%s exited with %s at t=%.3f without being "
                           "killed" % (c["node"], c["rc"], c["t"]), "t": c["t"],
                           "excerpt": c["log_tail"].splitlines()[-40:]})
    summary["sanitizer_reports"] = h.sanitizer
    if h.sanitizer:
        violations.append({"rule": "e", "what": h.sanitizer, "t": None, "excerpt": []})

    # -- load -------------------------------------------------------------------------------
    la = [x for _, x in h.load]
    summary["load"] = {"loadavg1_mean": round(statistics.mean(la), 2) if la else None,
                       "loadavg1_max": max(la) if la else None,
                       "agents_cpu_pct_of_one_core": h.agent_cpu_pct,
                       "poller_oversleep_s": stats(h.oversleep)}
    summary["t_last_fault_end"] = h.t_last
    summary["violations"] = _count(v["rule"] for v in violations)
    return {"summary": summary, "violations": violations, "kills": kill_rows}


def _count(xs):
    out = {}
    for x in xs:
        out[x] = out.get(x, 0) + 1
    return out


def print_report(h, res, args, out=None):
    import json
    import sys
    out = out or sys.stdout
    s = res["summary"]
    w = out.write
    w("==== chaos run, seed %d, %g s of faults\n" % (h.seed, h.duration))
    w("faults: %s\n" % json.dumps(s["faults"], sort_keys=True))
    k = s["kills"]
    w("kills: %d (%d of the leader, %d of a seed), judged %d, not judged %s\n"
      % (k["total"], k["of_leader"], k["of_seed"], k["judged"], k["not_judged"]))
    w("detection (every live member shows failed), judged kills: %s; late %d, undetected %d\n"
      % (json.dumps(k["detect_s_judged"]), k["late_judged"], k["undetected_judged"]))
    w("detection, every kill where it could be measured: %s\n"
      % json.dumps(k["detect_s_all_measured"]))
    w("failure verdicts: %d, explained %s; false-failure verdicts by kind %s (%d marks by "
      "connected members), counted as violations: %d\n"
      % (s["failure_verdicts"], s["failure_verdicts_explained"], s["false_failure_kinds"],
         s["false_failure_sightings"], s["false_failures"]))
    if s["false_failure_sightings"]:
        w("  false marks lasted %s; cut-off verdicts came from %s\n"
          % (json.dumps(s["false_mark_duration_s"]), s["cut_off_verdict_origins"]))
    w("writes: %s\n" % json.dumps(s["writes"], sort_keys=True))
    w("seeds: %s\n" % json.dumps(s["seeds"], sort_keys=True))
    w("key rotation: %s\n" % json.dumps(s["key_rotation"]))
    w("convergence after the last fault: %s s\n" % s["converge_after_last_fault_s"])
    for ln in s["converge_trace"][-8:]:
        w("    %s\n" % ln)
    w("crashes: %d, sanitizer reports: %s, crash restarts: %d\n"
      % (s["crashes"], s["sanitizer_reports"], s["crash_restarts"]))
    w("load: %s\n" % json.dumps(s["load"]))
    for n in h.notes:
        if n.startswith("NOTICE") or "failed" in n:
            w("note: %s\n" % n)
    if res["violations"]:
        w("==== %d VIOLATIONS (seed %d): %s\n" % (len(res["violations"]), h.seed,
                                                  s["violations"]))
        for v in res["violations"][:25]:
            w("[rule %s] %s\n" % (v["rule"], v["what"]))
            for ln in v["excerpt"][:80]:
                w("    %s\n" % ln)
        w("==== FAIL: seed %d (rerun: tests/chaos/chaos.py --seed %d --duration %g)\n"
          % (h.seed, h.seed, h.duration))
    else:
        w("==== PASS: seed %d, every check held\n" % h.seed)
    w("SUMMARY %s\n" % json.dumps(s, sort_keys=True))
    out.flush()
