// The gold feedback's expected order, in the letters the annotator saw (static/annotate/gold.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { expectedOrder } from "../../static/annotate/gold.js";

const task = /** @type {any} */ ({ responses: [{ id: "x" }, { id: "y" }, { id: "z" }] });

test("the expected ranking reads in display letters, best first", () => {
  assert.equal(expectedOrder(task, [["y"], ["x"], ["z"]]), "B > A > C");
});

test("a tie group is joined with =", () => {
  assert.equal(expectedOrder(task, [["z", "x"], ["y"]]), "C = A > B");
});

test("an id the task does not have shows as ?", () => {
  assert.equal(expectedOrder(task, [["q"], ["x"]]), "? > A");
});
