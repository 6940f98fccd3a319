// What each key means on the annotate page (static/annotate/keyboard.js), by view, task kind and focus.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { keyAction, keyName } from "../../static/annotate/keyboard.js";

/** @param {Partial<import("../../static/annotate/keyboard.js").KeyContext>} [extra] */
function ctx(extra = {}) {
  return {
    view: "task",
    kind: "pairwise",
    responses: 2,
    scaleMax: 7,
    guidelinesOpen: false,
    skipOpen: false,
    target: "other",
    focusOnMain: true,
    ...extra,
  };
}

/**
 * @param {string} key
 * @param {Partial<import("../../static/annotate/keyboard.js").KeyPress>} [extra]
 */
function press(key, extra = {}) {
  const code = /^\d$/.test(key) ? `Digit${key}` : /^[a-z]$/i.test(key) ? `Key${key.toUpperCase()}` : key;
  return {
    key,
    code,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    repeat: false,
    isComposing: false,
    keyCode: 0,
    defaultPrevented: false,
    ...extra,
  };
}

const act = (key, context = {}, extra = {}) => keyAction(ctx(context), press(key, extra));

describe("key names", () => {
  test("letters by what they type, lower case; named keys as they are", () => {
    assert.equal(keyName({ key: "X", code: "KeyX" }), "x");
    assert.equal(keyName({ key: "?", code: "Slash" }), "?");
    assert.equal(keyName({ key: "Enter", code: "Enter" }), "Enter");
    assert.equal(keyName({ key: "ArrowDown", code: "ArrowDown" }), "ArrowDown");
  });

  test("other layouts fall back to the physical key", () => {
    assert.equal(keyName({ key: "ч", code: "KeyX" }), "x"); // Russian layout
    assert.equal(keyName({ key: "é", code: "Digit2" }), "2"); // French AZERTY's 2 key
    assert.equal(keyName({ key: "ß", code: "Minus" }), "ß");
  });
});

describe("pairwise", () => {
  test("1, 2, 3 choose; other digits are not ours", () => {
    assert.deepEqual(act("1"), { type: "choose", choice: "a" });
    assert.deepEqual(act("2"), { type: "choose", choice: "b" });
    assert.deepEqual(act("3"), { type: "choose", choice: "tie" });
    assert.equal(act("0"), null);
    assert.equal(act("4"), null);
    assert.equal(act("Backspace"), null);
  });

  test("the letter keys", () => {
    assert.deepEqual(act("x"), { type: "all-bad" });
    assert.deepEqual(act("q"), { type: "strength", strength: "slight" });
    assert.deepEqual(act("w"), { type: "strength", strength: "clear" });
    assert.deepEqual(act("E"), { type: "strength", strength: "strong" });
    assert.deepEqual(act("j"), { type: "cursor", delta: 1 });
    assert.deepEqual(act("k"), { type: "cursor", delta: -1 });
    assert.deepEqual(act("r"), { type: "start-rating" });
    assert.deepEqual(act("n"), { type: "rationale" });
    assert.deepEqual(act("s"), { type: "skip" });
    assert.deepEqual(act("g"), { type: "toggle-guidelines" });
    assert.deepEqual(act("?"), { type: "toggle-guidelines" });
    assert.equal(act("z"), null);
  });

  test("modifiers leave keys to the browser", () => {
    assert.equal(act("1", {}, { ctrlKey: true }), null);
    assert.equal(act("x", {}, { metaKey: true }), null);
    assert.equal(act("s", {}, { altKey: true }), null);
    assert.equal(act("Enter", {}, { ctrlKey: true }), null);
  });
});

describe("ranking", () => {
  const ranking = { kind: "ranking", responses: 4 };
  test("digits up to the number of responses rank the highlighted one; 0 and Backspace clear", () => {
    assert.deepEqual(act("1", ranking), { type: "rank", rank: 1 });
    assert.deepEqual(act("4", ranking), { type: "rank", rank: 4 });
    assert.equal(act("5", ranking), null);
    assert.deepEqual(act("0", ranking), { type: "rank", rank: 0 });
    assert.deepEqual(act("Backspace", ranking), { type: "rank", rank: 0 });
    assert.deepEqual(act("Delete", ranking), { type: "rank", rank: 0 });
  });
});

describe("Enter", () => {
  test("submits, but not while held down", () => {
    assert.deepEqual(act("Enter"), { type: "submit" });
    assert.deepEqual(act("Enter", {}, { repeat: true }), { type: "swallow" });
  });

  test("keeps its meaning on links, the header and the taskbar", () => {
    assert.equal(act("Enter", { target: "chrome" }), null);
    assert.deepEqual(act("1", { target: "chrome" }), { type: "choose", choice: "a" });
  });

  test("Ctrl/Cmd+Enter in the rationale submits; plain Enter types a new line", () => {
    assert.deepEqual(act("Enter", { target: "rationale" }, { ctrlKey: true }), { type: "submit" });
    assert.deepEqual(act("Enter", { target: "rationale" }, { metaKey: true }), { type: "submit" });
    assert.equal(act("Enter", { target: "rationale" }), null);
    assert.equal(act("Enter", { target: "text" }, { ctrlKey: true }), null);
  });
});

describe("typing", () => {
  test("letters and digits type in text fields; Escape leaves", () => {
    for (const target of ["rationale", "text"]) {
      for (const key of ["x", "1", "q", "s", "g", "?", "j"]) {
        assert.equal(act(key, { target }), null, `${target} ${key}`);
      }
      assert.deepEqual(act("Escape", { target }), { type: "leave" });
    }
  });

  test("an IME composition is never ours", () => {
    assert.equal(act("1", {}, { isComposing: true }), null);
    assert.equal(act("Enter", {}, { keyCode: 229 }), null);
    assert.equal(act("x", {}, { defaultPrevented: true }), null);
  });

  test("Escape elsewhere leaves the focused control (keeping the key's default), or does nothing", () => {
    assert.deepEqual(act("Escape", { focusOnMain: false }), { type: "leave", keepDefault: true });
    assert.equal(act("Escape", { focusOnMain: true }), null);
  });
});

describe("rating rows", () => {
  const rating = { target: "rating", scaleMax: 5 };
  test("digits on the scale score and move on; 0 does nothing", () => {
    assert.deepEqual(act("1", rating), { type: "rate", score: 1 });
    assert.deepEqual(act("5", rating), { type: "rate", score: 5 });
    assert.equal(act("0", rating), null);
    assert.equal(act("0", { ...rating, kind: "ranking", responses: 3 }), null); // not "clear the rank"
  });

  test("a digit beyond the scale falls through to the page's digits", () => {
    assert.equal(act("6", rating), null);
    assert.deepEqual(act("3", { target: "rating", scaleMax: 2 }), { type: "choose", choice: "tie" });
    assert.deepEqual(act("6", { ...rating, kind: "ranking", responses: 6 }), { type: "rank", rank: 6 });
  });

  test("arrows move between rows, Backspace clears, Escape leaves, other keys are the page's", () => {
    assert.deepEqual(act("ArrowDown", rating), { type: "rating-row", delta: 1 });
    assert.deepEqual(act("ArrowUp", rating), { type: "rating-row", delta: -1 });
    assert.deepEqual(act("Backspace", rating), { type: "unrate" });
    assert.deepEqual(act("Delete", rating), { type: "unrate" });
    assert.deepEqual(act("Escape", rating), { type: "leave" });
    assert.deepEqual(act("j", rating), { type: "cursor", delta: 1 });
    assert.deepEqual(act("Enter", rating), { type: "submit" });
  });
});

describe("dialogs and other views", () => {
  test("with the guidelines open only G and ? (outside text fields) mean something: close", () => {
    const open = { guidelinesOpen: true };
    assert.deepEqual(act("g", open), { type: "close-guidelines" });
    assert.deepEqual(act("?", open), { type: "close-guidelines" });
    assert.deepEqual(act("g", open, { altKey: true }), { type: "close-guidelines" });
    assert.equal(act("g", open, { ctrlKey: true }), null);
    assert.equal(act("g", { ...open, target: "text" }), null);
    assert.equal(act("1", open), null);
    assert.equal(act("Enter", open), null);
  });

  test("the skip dialog keeps its own keys", () => {
    for (const key of ["Enter", "Escape", "1", "g", "s"]) assert.equal(act(key, { skipOpen: true }), null);
  });

  test("while loading, empty or in error only the guidelines key works", () => {
    for (const view of ["loading", "empty", "error"]) {
      assert.deepEqual(act("g", { view, kind: null }), { type: "toggle-guidelines" });
      assert.equal(act("g", { view, kind: null }, { altKey: true }), null);
      for (const key of ["1", "Enter", "x", "s", "n"]) assert.equal(act(key, { view, kind: null }), null);
    }
  });
});
