// The workspace's small modules: the guidelines preview's debounce (static/workspace/preview.js).
import assert from "node:assert/strict";
import { mock, test } from "node:test";

import { DEBOUNCE_MS, debounce } from "../../static/workspace/preview.js";

test("a burst of typing fetches one preview, after the pause", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    let calls = 0;
    const typed = debounce(() => (calls += 1), DEBOUNCE_MS);
    for (let key = 0; key < 5; key += 1) {
      typed();
      mock.timers.tick(DEBOUNCE_MS - 1);
    }
    assert.equal(calls, 0);
    mock.timers.tick(1);
    assert.equal(calls, 1);
    typed();
    mock.timers.tick(DEBOUNCE_MS);
    assert.equal(calls, 2);
  } finally {
    mock.timers.reset();
  }
});
