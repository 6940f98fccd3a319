// Drafts in storage (static/annotate/drafts.js), against an in-memory Storage.
import assert from "node:assert/strict";
import { test } from "node:test";

import { DRAFT_TTL_MS, createDrafts, createSessionCount, draftKey } from "../../static/annotate/drafts.js";

/** A Storage backed by a Map (the Web Storage API's shape). */
function memoryStorage() {
  const map = new Map();
  return {
    get length() {
      return map.size;
    },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
    clear: () => map.clear(),
  };
}

test("save, load and clear one user's draft of a task", () => {
  const storage = memoryStorage();
  const drafts = createDrafts(storage, "5");
  drafts.save(12, /** @type {any} */ ({ choice: "a", savedAt: 1 }));
  assert.deepEqual(drafts.load(12), { choice: "a", savedAt: 1 });
  assert.equal(storage.getItem(draftKey("5", 12)), '{"choice":"a","savedAt":1}');
  assert.equal(createDrafts(storage, "6").load(12), null); // another user's drafts are not theirs
  drafts.clear(12);
  assert.equal(drafts.load(12), null);
});

test("prune drops drafts older than two weeks, of every user, and leaves other keys", () => {
  const storage = memoryStorage();
  const now = 10 * DRAFT_TTL_MS;
  storage.setItem(draftKey("1", 1), JSON.stringify({ savedAt: now - DRAFT_TTL_MS - 1 }));
  storage.setItem(draftKey("2", 2), JSON.stringify({ savedAt: now - 1000 }));
  storage.setItem("other", "x");
  createDrafts(storage, "1").prune(now);
  assert.deepEqual([storage.getItem(draftKey("1", 1)), storage.getItem("other")], [null, "x"]);
  assert.notEqual(storage.getItem(draftKey("2", 2)), null);
});

test("broken or missing storage never throws", () => {
  const broken = { ...memoryStorage(), getItem: () => "{not json", setItem: () => { throw new Error("full"); } };
  const drafts = createDrafts(/** @type {any} */ (broken), "1");
  assert.equal(drafts.load(1), null);
  drafts.save(1, /** @type {any} */ ({}));
  const none = createDrafts(null, "1");
  none.save(1, /** @type {any} */ ({}));
  assert.equal(none.load(1), null);
  none.prune(0);
  assert.equal(createSessionCount(null, "1", "p").load(), 0);
});

test("the session count survives in sessionStorage per user and project", () => {
  const storage = memoryStorage();
  createSessionCount(storage, "1", "p").save(3);
  assert.equal(createSessionCount(storage, "1", "p").load(), 3);
  assert.equal(createSessionCount(storage, "1", "q").load(), 0);
});
