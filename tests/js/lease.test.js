// The lease countdown and when heartbeats go out (static/annotate/lease.js).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  HEARTBEAT_MS,
  beatInterval,
  beatOnActivity,
  beatOnReturn,
  extendLease,
  formatRemaining,
  leaseEnd,
  noLease,
  takeLease,
  tick,
} from "../../static/annotate/lease.js";

const T0 = Date.parse("2030-01-01T00:00:00Z");
const iso = (ms) => new Date(ms).toISOString();
const WINDOW = 180_000;

describe("countdown", () => {
  test("reads mm:ss, or h:mm:ss past an hour, never negative", () => {
    assert.equal(formatRemaining(600), "10:00");
    assert.equal(formatRemaining(59.9), "00:59");
    assert.equal(formatRemaining(3725), "1:02:05");
    assert.equal(formatRemaining(-4), "00:00");
  });

  test("the server's end in our clock: minus the skew", () => {
    assert.equal(leaseEnd(iso(T0), 5000), T0 - 5000);
    assert.equal(leaseEnd("not a date", 0), 0);
  });

  test("ok, then low once, then out once; a heartbeat's answer resets the notices", () => {
    let lease = takeLease(noLease(), iso(T0 + 600_000), 0, T0);
    const at = (now) => {
      const result = tick(lease, { now, lastActivity: now, activeWindowMs: WINDOW });
      lease = result.lease;
      return result;
    };
    assert.deepEqual(at(T0).shown, { text: "10:00", level: "ok" });
    assert.deepEqual(at(T0 + 480_500).notices, ["low"]);
    assert.deepEqual(at(T0 + 481_500).notices, []);
    const out = at(T0 + 600_000);
    assert.deepEqual([out.shown?.level, out.notices], ["out", ["expired"]]);
    assert.deepEqual(at(T0 + 601_000).notices, []);
    lease = extendLease(lease, iso(T0 + 700_000), 0, T0 + 601_000);
    assert.deepEqual(at(T0 + 601_000).notices, ["low"]);
  });

  test("no lease, nothing to show", () => {
    assert.deepEqual(tick(noLease(), { now: T0, lastActivity: T0, activeWindowMs: WINDOW }).shown, null);
  });
});

describe("heartbeats", () => {
  const lease = takeLease(noLease(), iso(T0 + 600_000), 0, T0);
  const beat = (now, lastActivity) => tick(lease, { now, lastActivity, activeWindowMs: WINDOW }).beat;

  test("every minute while the annotator is active, not while idle", () => {
    assert.equal(beat(T0 + HEARTBEAT_MS - 1, T0 + 1000), false);
    assert.equal(beat(T0 + HEARTBEAT_MS, T0 + 1000), true);
    assert.equal(beat(T0 + HEARTBEAT_MS, T0 + HEARTBEAT_MS - WINDOW), false);
  });

  test("after the lease ran out, every 15 s even when idle", () => {
    const short = takeLease(noLease(), iso(T0 + 10_000), 0, T0);
    assert.equal(tick(short, { now: T0 + 14_000, lastActivity: 0, activeWindowMs: WINDOW }).beat, false);
    assert.equal(tick(short, { now: T0 + 15_000, lastActivity: 0, activeWindowMs: WINDOW }).beat, true);
  });

  test("on activity after a long pause, or when one is due; on return to the tab after 30 s", () => {
    assert.equal(beatOnActivity(lease, { now: T0 + 1000, lastActivity: T0 }), false);
    assert.equal(beatOnActivity(lease, { now: T0 + 62_000, lastActivity: T0 + 61_000 }), true);
    const recent = { ...lease, lastBeat: T0 + 70_000 };
    assert.equal(beatOnActivity(recent, { now: T0 + 71_000, lastActivity: T0 }), true);
    assert.equal(beatOnReturn(lease, T0 + 30_000), false);
    assert.equal(beatOnReturn(lease, T0 + 30_001), true);
  });
});

describe("heartbeats of a short lease", () => {
  test("a third of the lease, at most a minute, at least 5 s", () => {
    assert.equal(beatInterval(600_000), HEARTBEAT_MS);
    assert.equal(beatInterval(180_000), HEARTBEAT_MS);
    assert.equal(beatInterval(90_000), 30_000);
    assert.equal(beatInterval(30_000), 10_000);
    assert.equal(beatInterval(3000), 5000);
  });

  test("a 30 s lease beats every 10 s while active, from the task's lease_expires_at", () => {
    let lease = takeLease(noLease(), iso(T0 + 30_000), 0, T0);
    assert.equal(lease.intervalMs, 10_000);
    const beat = (now) => tick(lease, { now, lastActivity: now, activeWindowMs: WINDOW }).beat;
    assert.equal(beat(T0 + 9000), false);
    assert.equal(beat(T0 + 10_000), true);
    // The heartbeat's answer: the lease runs 30 s from then, so the interval stays a third of it.
    lease = extendLease({ ...lease, lastBeat: T0 + 10_000 }, iso(T0 + 40_000), 0, T0 + 10_000);
    assert.equal(lease.intervalMs, 10_000);
    assert.equal(beat(T0 + 19_000), false);
    assert.equal(beat(T0 + 20_000), true);
  });

  test("the server's clock ahead of ours does not shorten the interval", () => {
    const lease = takeLease(noLease(), iso(T0 + 5000 + 30_000), 5000, T0);
    assert.equal(lease.intervalMs, 10_000);
  });

  test("a task handed back with little time left beats soon, then at the lease's pace", () => {
    const reloaded = takeLease(noLease(), iso(T0 + 12_000), 0, T0);
    assert.equal(reloaded.intervalMs, 5000);
  });

  test("activity after a pause of a third of the lease, and a return to the tab, beat at once", () => {
    const lease = takeLease(noLease(), iso(T0 + 30_000), 0, T0);
    assert.equal(beatOnActivity(lease, { now: T0 + 3000, lastActivity: T0 + 2000 }), false);
    assert.equal(beatOnActivity(lease, { now: T0 + 9000, lastActivity: T0 - 2000 }), true);
    assert.equal(beatOnReturn(lease, T0 + 9000), false);
    assert.equal(beatOnReturn(lease, T0 + 10_001), true);
  });
});
