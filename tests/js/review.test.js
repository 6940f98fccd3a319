// The reviewer page's pure state and keys (static/review/state.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  chooseVerdict, initialState, isReady, lettersOf, moveFocus, placeNext, reviewBody, reviewKey, tieAll,
  toggleReject,
} from "../../static/review/state.js";

const item = /** @type {any} */ ({
  comparison: { id: 7, responses: [{ id: "a" }, { id: "b" }, { id: "c" }] },
  annotations: [{ id: 11 }, { id: 12 }],
  reasons: ["disagreement"],
});

test("an override is built best first and the last response follows by itself", () => {
  let state = chooseVerdict(initialState(item), "override");
  assert.equal(isReady(state), false);
  state = placeNext(state, 1);
  state = placeNext(state, 1); // twice: ignored
  assert.deepEqual(state.order, [["b"]]);
  state = placeNext(state, 2);
  assert.deepEqual(state.order, [["b"], ["c"], ["a"]]);
  assert.equal(isReady(state), true);
  assert.equal(lettersOf(item, state.order), "B > C > A");
  assert.deepEqual(tieAll(state).order, [["a", "b", "c"]]);
});

test("the body carries the ranking only for an override, rejections sorted", () => {
  let state = toggleReject(moveFocus(initialState(item), 1));
  state = toggleReject(state, 11);
  state = chooseVerdict(state, "accept");
  assert.deepEqual(reviewBody(state, "tok"), {
    verdict: "accept", rejected_annotations: [11, 12], comment: "", client_token: "tok",
  });
  assert.deepEqual(toggleReject(state, 12).rejected, [11]);
  assert.equal(moveFocus(initialState(item), -1).focus, 1);
});

test("keys: verdicts, order digits within the task, nothing while typing", () => {
  const ctx = { typing: false, responses: 3 };
  assert.deepEqual(reviewKey("a", ctx), { type: "verdict", verdict: "accept" });
  assert.deepEqual(reviewKey("O", ctx), { type: "verdict", verdict: "override" });
  assert.deepEqual(reviewKey("r", ctx), { type: "verdict", verdict: "reject_all" });
  assert.deepEqual(reviewKey("3", ctx), { type: "place", index: 2 });
  assert.deepEqual(reviewKey("4", ctx), { type: "none" });
  assert.deepEqual(reviewKey("x", ctx), { type: "reject" });
  assert.deepEqual(reviewKey("Enter", ctx), { type: "submit" });
  assert.deepEqual(reviewKey("a", { ...ctx, typing: true }), { type: "none" });
});
