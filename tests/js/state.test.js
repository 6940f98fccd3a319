// The annotate page's state and rules (static/annotate/state.js, rules.js): verdicts, rankings with ties,
// all bad, strength, ratings, what Enter may submit and the body it sends, drafts restored against the
// task, answers kept when the server would not take them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  hasWork,
  isReady,
  rankSummary,
  rankingGroups,
  strengthApplies,
  strengthIgnored,
  submissionBody,
  verdicts,
} from "../../static/annotate/rules.js";
import {
  ACTIVE_WINDOW_MS,
  MAX_TIME_MS,
  activeTime,
  addTime,
  choose,
  countSubmission,
  dismissKept,
  draftOf,
  initialState,
  keepAnswer,
  moveCursor,
  pickStrength,
  rank,
  rate,
  restoreAnswer,
  showTask,
  toggleAllBad,
  withoutTask,
  writeRationale,
} from "../../static/annotate/state.js";

/**
 * @param {number} n responses
 * @param {Partial<import("../../static/annotate/types.js").Task>} [extra]
 */
function makeTask(n, extra = {}) {
  return {
    id: 7,
    kind: n > 2 ? "ranking" : "pairwise",
    prompt: { messages: [{ role: "user", content: "Hi", html: "<p>Hi</p>" }] },
    responses: Array.from({ length: n }, (_, i) => ({ id: `r${i}`, text: `t${i}`, html: `<p>t${i}</p>` })),
    rating_axes: ["helpfulness", "honesty"],
    rating_scale_max: 7,
    lease_expires_at: "2030-01-01T00:00:00Z",
    done: 3,
    ...extra,
  };
}

/** A state showing a fresh task of `n` responses. */
function started(n, extra) {
  return showTask(initialState(0), makeTask(n, extra), null, "tok-new").state;
}

/** Ranks of a ranking task from a list (index i gets ranks[i]). */
function ranked(ranks) {
  let state = started(ranks.length);
  ranks.forEach((value, index) => (state = rank(state, index, value)));
  return state;
}

describe("pairwise", () => {
  test("A, B or a tie make the ranking; nothing picked is not ready", () => {
    const state = started(2);
    assert.equal(rankingGroups(state.task, state.answer), null);
    assert.equal(isReady(state.task, state.answer), false);
    assert.deepEqual(rankingGroups(state.task, choose(state, "a").answer), [["r0"], ["r1"]]);
    assert.deepEqual(rankingGroups(state.task, choose(state, "b").answer), [["r1"], ["r0"]]);
    assert.deepEqual(rankingGroups(state.task, choose(state, "tie").answer), [["r0", "r1"]]);
    assert.equal(isReady(state.task, choose(state, "tie").answer), true);
  });

  test("a key sets the verdict; a click on the same verdict clears it", () => {
    const a = choose(started(2), "a");
    assert.equal(choose(a, "a").answer.choice, "a");
    assert.equal(choose(a, "a", { toggle: true }).answer.choice, null);
    assert.equal(choose(a, "b", { toggle: true }).answer.choice, "b");
  });

  test("badges: better and worse, or both tied", () => {
    const state = started(2);
    assert.deepEqual(verdicts(state.task, state.answer), ["", ""]);
    assert.deepEqual(verdicts(state.task, choose(state, "b").answer), ["worse", "better"]);
    assert.deepEqual(verdicts(state.task, choose(state, "tie").answer), ["tie", "tie"]);
  });

  test("the old state is never changed", () => {
    const state = started(2);
    const before = structuredClone(state);
    choose(state, "a");
    rate(state, 0, "helpfulness", 5);
    toggleAllBad(state);
    pickStrength(state, "strong");
    writeRationale(state, "why");
    assert.deepEqual(state, before);
  });
});

describe("all bad", () => {
  test("is ready on its own and sends all responses tied as its ranking", () => {
    const state = toggleAllBad(started(2));
    assert.equal(isReady(state.task, state.answer), true);
    const body = submissionBody(state.task, state.answer);
    assert.equal(body.all_bad, true);
    assert.deepEqual(body.ranking, [["r0", "r1"]]);
    assert.equal(body.strength, "");
  });

  test("with a verdict as well, both are sent", () => {
    const state = toggleAllBad(choose(started(2), "a"));
    const body = submissionBody(state.task, state.answer);
    assert.deepEqual(body.ranking, [["r0"], ["r1"]]);
    assert.equal(body.all_bad, true);
  });

  test("toggles", () => {
    assert.equal(toggleAllBad(toggleAllBad(started(2))).answer.allBad, false);
  });
});

describe("ranking of 3..6", () => {
  for (const n of [3, 4, 5, 6]) {
    test(`${n} responses: complete only when every response has a rank`, () => {
      let state = started(n);
      for (let i = 0; i < n - 1; i += 1) {
        state = rank(state, i, n - i);
        assert.equal(isReady(state.task, state.answer), false);
      }
      state = rank(state, n - 1, 1);
      assert.deepEqual(
        rankingGroups(state.task, state.answer),
        Array.from({ length: n }, (_, i) => [`r${n - 1 - i}`]),
      );
      assert.equal(isReady(state.task, state.answer), true);
    });
  }

  test("equal ranks tie; gaps in the numbers do not matter", () => {
    const state = ranked([2, 1, 3, 3]);
    assert.deepEqual(rankingGroups(state.task, state.answer), [["r1"], ["r0"], ["r2", "r3"]]);
    assert.deepEqual(verdicts(state.task, state.answer), ["", "", "tie", "tie"]);
    const gaps = ranked([5, 1, 5]);
    assert.deepEqual(rankingGroups(gaps.task, gaps.answer), [["r1"], ["r0", "r2"]]);
  });

  test("all tied is one group", () => {
    const state = ranked([1, 1, 1]);
    assert.deepEqual(rankingGroups(state.task, state.answer), [["r0", "r1", "r2"]]);
  });

  test("a rank moves the highlight on (not past the last); 0 clears and stays", () => {
    let state = started(3);
    assert.equal(state.cursor, 0);
    assert.equal(state.cursorShown, true);
    state = rank(state, 0, 2, { advance: true });
    assert.equal(state.cursor, 1);
    state = rank(state, 1, 1, { advance: true });
    state = rank(state, 2, 3, { advance: true });
    assert.equal(state.cursor, 2);
    state = rank(state, 2, 0);
    assert.equal(state.cursor, 2);
    assert.equal(state.answer.ranks.r2, undefined);
  });

  test("a click on the rank a response already has clears it", () => {
    const state = rank(started(3), 0, 2);
    assert.equal(rank(state, 0, 2, { toggle: true }).answer.ranks.r0, undefined);
    assert.equal(rank(state, 0, 3, { toggle: true }).answer.ranks.r0, 3);
  });

  test("the summary in letters, with progress while incomplete", () => {
    const partial = rank(rank(started(4), 0, 2), 2, 1);
    assert.deepEqual(rankSummary(partial.task, partial.answer), {
      levels: [["C"], ["A"]],
      ranked: 2,
      total: 4,
      complete: false,
    });
    const full = ranked([2, 1, 2, 3]);
    assert.deepEqual(rankSummary(full.task, full.answer).levels, [["B"], ["A", "C"], ["D"]]);
    assert.equal(rankSummary(full.task, full.answer).complete, true);
  });

  test("the cursor stays within the responses", () => {
    const state = started(4);
    assert.equal(moveCursor(state, -1).cursor, 0);
    assert.equal(moveCursor(state, 9).cursor, 3);
    assert.equal(moveCursor(started(2), 1).cursorShown, true);
  });
});

describe("strength", () => {
  test("applies only when one response alone is best", () => {
    assert.equal(strengthApplies(null), false);
    assert.equal(strengthApplies([["a"], ["b"]]), true);
    assert.equal(strengthApplies([["a", "b"]]), false);
    assert.equal(strengthApplies([["a", "b"], ["c"]]), false);
    assert.equal(strengthApplies([["a"], ["b", "c"]]), true);
  });

  test("is sent only where it applies", () => {
    const better = pickStrength(choose(started(2), "a"), "strong");
    assert.equal(submissionBody(better.task, better.answer).strength, "strong");
    const tie = pickStrength(choose(started(2), "tie"), "strong");
    assert.equal(submissionBody(tie.task, tie.answer).strength, "");
    const topTie = pickStrength(ranked([1, 1, 2]), "clear");
    assert.equal(submissionBody(topTie.task, topTie.answer).strength, "");
    const topOne = pickStrength(ranked([2, 1, 2]), "clear");
    assert.equal(submissionBody(topOne.task, topOne.answer).strength, "clear");
  });

  test("the same strength again clears it", () => {
    const state = pickStrength(started(2), "slight");
    assert.equal(state.answer.strength, "slight");
    assert.equal(pickStrength(state, "slight").answer.strength, "");
    assert.equal(pickStrength(state, "clear").answer.strength, "clear");
  });

  test("is worth a word when picked for a tie, not before any verdict", () => {
    const before = pickStrength(started(2), "clear");
    assert.equal(strengthIgnored(before.task, before.answer), false);
    const tie = pickStrength(choose(started(2), "tie"), "clear");
    assert.equal(strengthIgnored(tie.task, tie.answer), true);
    const partial = pickStrength(rank(started(3), 0, 1), "clear");
    assert.equal(strengthIgnored(partial.task, partial.answer), true);
    const fine = pickStrength(choose(started(2), "a"), "clear");
    assert.equal(strengthIgnored(fine.task, fine.answer), false);
  });
});

describe("ratings", () => {
  test("set, change and clear a score per response and axis", () => {
    let state = rate(started(2), 1, "helpfulness", 4);
    state = rate(state, 1, "honesty", 6);
    state = rate(state, 1, "helpfulness", 2);
    assert.deepEqual(state.answer.ratings, { r1: { helpfulness: 2, honesty: 6 } });
    state = rate(rate(state, 1, "helpfulness", 0), 1, "honesty", 0);
    assert.deepEqual(state.answer.ratings, {});
  });

  test("the body keeps only the task's responses and axes", () => {
    const state = choose(rate(started(2), 0, "helpfulness", 5), "a");
    const stale = {
      ...state,
      answer: { ...state.answer, ratings: { r0: { helpfulness: 5, old: 3 }, gone: { helpfulness: 1 } } },
    };
    assert.deepEqual(submissionBody(stale.task, stale.answer).ratings, { r0: { helpfulness: 5 } });
  });
});

describe("the submission body", () => {
  test("has every field of the API's annotation body", () => {
    let state = choose(started(2), "b");
    state = pickStrength(state, "slight");
    state = rate(state, 0, "honesty", 3);
    state = writeRationale(state, "B is safer");
    state = addTime(state, 1234.4);
    assert.deepEqual(submissionBody(state.task, state.answer), {
      ranking: [["r1"], ["r0"]],
      strength: "slight",
      all_bad: false,
      ratings: { r0: { honesty: 3 } },
      rationale: "B is safer",
      time_spent_ms: 1234,
      client_token: "tok-new",
    });
  });
});

describe("time on task", () => {
  const base = { now: 100_000, countedUntil: 98_000, visible: true, lastActivity: 99_000 };
  test("counts while visible and recently active, a few seconds at most per step", () => {
    assert.equal(activeTime(base), 2000);
    assert.equal(activeTime({ ...base, countedUntil: 0 }), 5000);
    assert.equal(activeTime({ ...base, countedUntil: 200_000 }), 0);
    assert.equal(activeTime({ ...base, visible: false }), 0);
    assert.equal(activeTime({ ...base, lastActivity: base.now - ACTIVE_WINDOW_MS }), 0);
  });

  test("is capped, and nothing counts without a task", () => {
    const state = addTime(started(2), MAX_TIME_MS + 5);
    assert.equal(state.answer.elapsedMs, MAX_TIME_MS);
    const none = initialState(0);
    assert.equal(addTime(none, 1000), none);
  });
});

describe("tasks, drafts and counts", () => {
  test("a new task: fresh answer, highlight drawn for rankings only, the server's done count", () => {
    const pair = started(2);
    assert.equal(pair.view, "task");
    assert.equal(pair.cursorShown, false);
    assert.equal(pair.done, 3);
    assert.equal(pair.answer.clientToken, "tok-new");
    assert.equal(started(3).cursorShown, true);
  });

  test("a draft comes back where it fits the task", () => {
    const task = makeTask(3);
    const draft = {
      choice: "sideways",
      ranks: { r0: 2, r1: 1, gone: 1, r2: 9 },
      allBad: "yes",
      strength: "strong",
      ratings: { r0: { helpfulness: 5, old: 2, honesty: 8 }, gone: { helpfulness: 1 } },
      rationale: "half written",
      clientToken: "tok-draft",
      elapsedMs: 1500,
      cursor: 2,
      savedAt: 1,
    };
    const { answer, touched, cursor } = restoreAnswer(draft, task, "tok-new");
    assert.deepEqual(answer, {
      choice: null,
      ranks: { r0: 2, r1: 1 },
      allBad: false,
      strength: "strong",
      ratings: { r0: { helpfulness: 5 } },
      rationale: "half written",
      clientToken: "tok-draft",
      elapsedMs: 1500,
      edits: {},
      safety: {},
      safer: null,
    });
    assert.equal(touched, true);
    assert.equal(cursor, 2);
  });

  test("an empty or broken draft is a fresh answer, not 'restored'", () => {
    const task = makeTask(2);
    for (const draft of [{}, "junk", { clientToken: "t", cursor: 1, elapsedMs: 10 }]) {
      const shown = showTask(initialState(0), task, draft, "tok-new");
      assert.equal(shown.restored, false);
    }
    const shown = showTask(initialState(0), task, { choice: "b", cursor: 5 }, "tok-new");
    assert.equal(shown.restored, true);
    assert.equal(shown.state.answer.choice, "b");
    assert.equal(shown.state.cursor, 1); // kept within the responses
  });

  test("a draft round-trips through storage as JSON", () => {
    const state = writeRationale(pickStrength(choose(started(2), "b"), "clear"), "because");
    const stored = JSON.parse(JSON.stringify(draftOf(moveCursor(state, 1), 42)));
    assert.equal(stored.savedAt, 42);
    const shown = showTask(initialState(0), state.task, stored, "other");
    assert.deepEqual(shown.state.answer, state.answer);
    assert.equal(shown.state.cursor, 1);
  });

  test("a submission counts in the session; done counts up only without a next task and when new", () => {
    const state = started(2);
    const created = countSubmission(state, { created: true, next: false });
    const replayed = countSubmission(state, { created: false, next: false });
    assert.deepEqual([created.session, created.done], [1, 4]);
    assert.deepEqual([replayed.session, replayed.done], [1, 3]);
    assert.equal(countSubmission(state, { created: true, next: true }).done, 3);
    assert.equal(countSubmission(initialState(0), { created: true, next: false }).done, null);
  });

  test("no task: empty or error", () => {
    const state = withoutTask(started(2), "empty");
    assert.equal(state.view, "empty");
    assert.equal(state.task, null);
    assert.equal(state.answer, null);
  });
});

describe("an answer the server would not take", () => {
  test("is kept with its rationale until it comes back, is dismissed, or the next one is saved", () => {
    const typed = writeRationale(choose(started(2), "a"), "my careful reasons");
    const kept = keepAnswer(typed, "full");
    assert.deepEqual(kept.kept, { taskId: 7, rationale: "my careful reasons", reason: "full" });
    const next = showTask(kept, makeTask(2, { id: 8 }), null, "tok-8").state;
    assert.deepEqual(next.kept, kept.kept); // shown beside the next task
    assert.equal(countSubmission(next, { created: true, next: true }).kept, null);
    assert.equal(dismissKept(next).kept, null);
    const back = showTask(next, makeTask(2), draftOf(typed, 1), "tok-again");
    assert.equal(back.state.kept, null); // its draft is in place again
    assert.equal(back.restored, true);
    assert.equal(back.state.answer.rationale, "my careful reasons");
    assert.equal(back.state.answer.clientToken, "tok-new");
  });

  test("only an answer with work in it is worth keeping", () => {
    const state = started(3);
    assert.equal(hasWork(state.answer), false);
    assert.equal(hasWork(rank(state, 0, 1).answer), true);
    assert.equal(hasWork(rate(state, 0, "honesty", 2).answer), true);
    assert.equal(hasWork(writeRationale(state, "x").answer), true);
    assert.equal(hasWork(toggleAllBad(state).answer), true);
  });
});
