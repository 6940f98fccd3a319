// The dashboard's rounds-panel poller (static/dashboard/rounds.js): how long it waits between polls.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ACTIVE_MS, IDLE_MS, MAX_BACKOFF_MS, nextDelay } from "../../static/dashboard/rounds.js";

test("every 2 s while a round is active, every 10 s while idle", () => {
  assert.equal(nextDelay({ failures: 0, active: true }), ACTIVE_MS);
  assert.equal(nextDelay({ failures: 0, active: false }), IDLE_MS);
  assert.deepEqual([ACTIVE_MS, IDLE_MS], [2000, 10_000]);
});

test("after errors it backs off, doubling to a minute, active or not", () => {
  const delays = [1, 2, 3, 4, 5, 9].map((failures) => nextDelay({ failures, active: false }));
  assert.deepEqual(delays, [4000, 8000, 16_000, 32_000, MAX_BACKOFF_MS, MAX_BACKOFF_MS]);
  assert.equal(nextDelay({ failures: 1, active: true }), 4000);
});
