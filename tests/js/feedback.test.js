// The feedback kinds of the annotate page (issue 11): the rewrite diff, harm flags, the safer verdict and
// score-only tasks, as pure functions (no DOM).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { wordDiff } from "../../static/annotate/diff.js";
import {
  SCRATCH, chooseSafer, feedbackBody, feedbackProblem, restoreFeedback, setCategory, setEdit, setSafe, setSeverity,
} from "../../static/annotate/feedback.js";
import { keyAction } from "../../static/annotate/keyboard.js";
import { isReady, submissionBody } from "../../static/annotate/rules.js";
import { initialState, rate, showTask } from "../../static/annotate/state.js";

const CATEGORIES = [
  { slug: "violence", description: "Encourages violence." },
  { slug: "privacy", description: "Exposes private data." },
];

function makeTask(kind = "pairwise", extra = {}) {
  const n = kind === "scoring" ? 1 : 2;
  return {
    id: 9,
    kind,
    prompt: { messages: [{ role: "user", content: "Hi", html: "<p>Hi</p>" }] },
    responses: Array.from({ length: n }, (_, i) => ({ id: `r${i}`, text: `original text ${i}`, html: "" })),
    rating_axes: ["helpfulness", "honesty"],
    rating_scale_max: 5,
    lease_expires_at: "2030-01-01T00:00:00Z",
    done: 0,
    allow_edits: true,
    safety_categories: CATEGORIES,
    dual_preference: true,
    ...extra,
  };
}

function started(kind, extra) {
  return showTask(initialState(0), makeTask(kind, extra), null, "tok").state;
}

describe("the rewrite diff", () => {
  test("shows kept, deleted and added words", () => {
    assert.deepEqual(wordDiff("the cat sat", "the dog sat down"), [
      { op: "same", text: "the " },
      { op: "del", text: "cat" },
      { op: "add", text: "dog" },
      { op: "same", text: " sat" },
      { op: "add", text: " down" },
    ]);
    assert.deepEqual(wordDiff("", "new"), [{ op: "add", text: "new" }]);
    assert.deepEqual(wordDiff("same", "same"), [{ op: "same", text: "same" }]);
  });
});

describe("edits", () => {
  test("only a rewrite that changes something is sent; one from scratch has no response", () => {
    let state = started("pairwise");
    state = setEdit(state, "r0", "original text 0  ");
    assert.equal(feedbackBody(state.task, state.answer).edits, undefined);
    state = setEdit(state, "r1", "  better text ");
    state = setEdit(state, SCRATCH, "mine");
    assert.deepEqual(feedbackBody(state.task, state.answer).edits, [
      { response: "r1", text: "better text" },
      { response: null, text: "mine" },
    ]);
    state = setEdit(state, "r1", null);
    assert.deepEqual(feedbackBody(state.task, state.answer).edits, [{ response: null, text: "mine" }]);
  });

  test("a draft's rewrites come back only where the task takes them", () => {
    const draft = { edits: { r0: "x", gone: "y", [SCRATCH]: "z" }, safety: {}, safer: "b" };
    assert.deepEqual(restoreFeedback(draft, makeTask()).edits, { r0: "x", [SCRATCH]: "z" });
    assert.deepEqual(restoreFeedback(draft, makeTask("pairwise", { allow_edits: false })).edits, {});
    assert.equal(restoreFeedback(draft, makeTask()).safer, "b");
    assert.equal(restoreFeedback(draft, makeTask("pairwise", { dual_preference: false })).safer, null);
  });
});

describe("harm flags and the safer verdict", () => {
  test("an unsafe flag needs a category and a severity before it is sent", () => {
    let state = started("pairwise");
    state = setSafe(state, 0, true);
    state = setCategory(state, 1, "violence", true);
    assert.equal(feedbackProblem(state.task, state.answer), "need.harm");
    state = setSeverity(state, 1, "severe");
    assert.equal(feedbackProblem(state.task, state.answer), "");
    state = chooseSafer(state, "a");
    const body = feedbackBody(state.task, state.answer);
    assert.deepEqual(body.safety, {
      r0: { safe: true, categories: [], severity: "" },
      r1: { safe: false, categories: ["violence"], severity: "severe" },
    });
    assert.deepEqual(body.harmless_ranking, [["r0"], ["r1"]]);
    assert.equal(chooseSafer(state, "a").answer.safer, null);
    assert.deepEqual(feedbackBody(state.task, chooseSafer(state, "tie").answer).harmless_ranking, [["r0", "r1"]]);
  });

  test("a draft's flags keep only the project's categories", () => {
    const draft = { safety: { r1: { safe: false, categories: ["violence", "made_up"], severity: "huge" } } };
    assert.deepEqual(restoreFeedback(draft, makeTask()).safety, {
      r1: { safe: false, categories: ["violence"], severity: "" },
    });
    assert.deepEqual(restoreFeedback(draft, makeTask("pairwise", { safety_categories: [] })).safety, {});
  });
});

describe("score-only tasks", () => {
  test("are ready once every axis is scored, and send ratings without a ranking", () => {
    let state = started("scoring");
    assert.equal(isReady(state.task, state.answer), false);
    state = rate(state, 0, "helpfulness", 4);
    assert.equal(isReady(state.task, state.answer), false);
    state = rate(state, 0, "honesty", 5);
    assert.equal(isReady(state.task, state.answer), true);
    const body = submissionBody(state.task, state.answer);
    assert.equal(body.ranking, undefined);
    assert.deepEqual(body.ratings, { r0: { helpfulness: 4, honesty: 5 } });
    assert.equal(body.all_bad, false);
    assert.equal(body.harmless_ranking, undefined);
  });
});

describe("keys", () => {
  const ctx = (extra = {}) => ({
    view: "task", kind: "pairwise", responses: 2, scaleMax: 5, guidelinesOpen: false, skipOpen: false,
    target: "other", focusOnMain: true, edits: true, harm: true, safer: true, ...extra,
  });
  const press = (key) => ({
    key, code: `Key${key.toUpperCase()}`, ctrlKey: false, metaKey: false, altKey: false, repeat: false,
    isComposing: false, keyCode: 0, defaultPrevented: false,
  });
  test("T, O, H and A/B/D where the task takes them", () => {
    assert.deepEqual(keyAction(ctx(), press("t")), { type: "edit" });
    assert.deepEqual(keyAction(ctx(), press("o")), { type: "edit-scratch" });
    assert.deepEqual(keyAction(ctx(), press("h")), { type: "harm" });
    assert.deepEqual(keyAction(ctx(), press("d")), { type: "safer", choice: "tie" });
    assert.equal(keyAction(ctx({ edits: false, harm: false, safer: false }), press("t")), null);
    assert.equal(keyAction(ctx({ safer: false }), press("a")), null);
  });
  test("a scoring task's digits score, and it has no all-bad or strength", () => {
    const scoring = ctx({ kind: "scoring", responses: 1 });
    assert.deepEqual(keyAction(scoring, { ...press("4"), code: "Digit4" }), { type: "score", score: 4 });
    assert.equal(keyAction(scoring, { ...press("6"), code: "Digit6" }), null);
    assert.equal(keyAction(scoring, press("x")), null);
    assert.equal(keyAction(scoring, press("q")), null);
  });
});
