// @ts-check
// The annotate page's state and its changes, as pure functions: a state goes in, a new state comes out
// (the old one is never changed), and nothing here touches the DOM, storage, the clock or the network.
// main.js owns the one current state and passes it in; rules.js says what an answer means.
/** @import { Ratings, Strength, Task } from "./types.js" */
/** @import { Feedback } from "./feedback.js" */
import { emptyFeedback, restoreFeedback } from "./feedback.js";
import { hasWork } from "./rules.js";

/** Time on task is capped (a tab left open over a weekend is not a day's work). */
export const MAX_TIME_MS = 24 * 3600 * 1000;
/** Reading without touching anything still counts as working for this long. */
export const ACTIVE_WINDOW_MS = 180_000;
/** One step of the time count never adds more than this (a sleeping laptop, a frozen tab). */
const MAX_STEP_MS = 5000;

/** @typedef {"a" | "b" | "tie"} Choice */
/** @type {readonly Choice[]} */
export const CHOICES = ["a", "b", "tie"];
/** @type {readonly Strength[]} */
export const STRENGTHS = ["slight", "clear", "strong"];

/**
 * The annotator's answer to the current task, as the controls show it.
 * @typedef {object} AnswerCore
 * @property {Choice | null} choice pairwise verdict
 * @property {Record<string, number>} ranks ranking: response id -> rank (1 = best; equal ranks tie)
 * @property {boolean} allBad
 * @property {Strength} strength
 * @property {Ratings} ratings
 * @property {string} rationale
 * @property {string} clientToken
 * @property {number} elapsedMs
 */
/** @typedef {AnswerCore & Feedback} Answer the verdict and the feedback kinds of feedback.js */

/** @typedef {"loading" | "task" | "empty" | "error"} View */

/**
 * An answer the server would not take (the lease was lost, the task was full, it was gone): its draft
 * stays in storage, to come back with the task, and the page shows what was typed until dismissed.
 * @typedef {object} Kept
 * @property {number} taskId
 * @property {string} rationale
 * @property {"lost" | "full"} reason
 */

/**
 * Everything the page shows. `task` and `answer` are set together; they stay set while the next task
 * loads (view "loading"), as the controls are hidden then.
 * @typedef {object} PageState
 * @property {View} view
 * @property {Task | null} task
 * @property {Answer | null} answer
 * @property {number} cursor index of the highlighted response
 * @property {boolean} cursorShown whether the highlight is drawn (pairwise: once the keyboard moved it)
 * @property {boolean} submitting
 * @property {number | null} done annotations submitted in the project (unknown before the first task)
 * @property {number} session annotations submitted since this tab opened
 * @property {Kept | null} kept the last answer the server would not take, while it is shown
 */

/** @typedef {PageState & {task: Task, answer: Answer}} TaskState */

/**
 * An answer kept in storage (a draft): the answer, the highlight and when it was saved.
 * @typedef {Answer & {cursor: number, savedAt: number}} Draft
 */

/**
 * @param {number} session
 * @returns {PageState}
 */
export function initialState(session) {
  return {
    view: "loading",
    task: null,
    answer: null,
    cursor: 0,
    cursorShown: false,
    submitting: false,
    done: null,
    session,
    kept: null,
  };
}

/**
 * @param {PageState} state
 * @returns {state is TaskState}
 */
export function hasTask(state) {
  return state.task !== null && state.answer !== null;
}

/**
 * @param {string} clientToken
 * @returns {Answer}
 */
export function freshAnswer(clientToken) {
  return {
    choice: null,
    ranks: {},
    allBad: false,
    strength: "",
    ratings: {},
    rationale: "",
    clientToken,
    elapsedMs: 0,
    ...emptyFeedback(),
  };
}

/**
 * A stored draft made to fit the task again: only ids, axes and values the task still has are kept.
 * @param {unknown} stored what storage held (any shape)
 * @param {Task} task
 * @param {string} newToken the client token when the draft has none
 * @returns {{answer: Answer, touched: boolean, cursor: number}}
 */
export function restoreAnswer(stored, task, newToken) {
  /** @type {Partial<Record<keyof Draft, unknown>>} */
  const draft = stored && typeof stored === "object" ? stored : {};
  const ids = new Set(task.responses.map((r) => r.id));
  const axes = new Set(task.rating_axes);
  const max = task.rating_scale_max;
  const token = typeof draft.clientToken === "string" && draft.clientToken ? draft.clientToken : newToken;
  const answer = freshAnswer(token);
  answer.choice = CHOICES.find((choice) => choice === draft.choice) ?? null;
  for (const [id, rank] of entries(draft.ranks)) {
    if (ids.has(id) && Number.isInteger(rank) && Number(rank) >= 1 && Number(rank) <= task.responses.length) {
      answer.ranks[id] = Number(rank);
    }
  }
  answer.allBad = draft.allBad === true;
  answer.strength = STRENGTHS.find((strength) => strength === draft.strength) ?? "";
  for (const [id, scores] of entries(draft.ratings)) {
    if (!ids.has(id)) continue;
    for (const [axis, score] of entries(scores)) {
      if (axes.has(axis) && Number.isInteger(score) && Number(score) >= 1 && Number(score) <= max) {
        (answer.ratings[id] ||= {})[axis] = Number(score);
      }
    }
  }
  if (typeof draft.rationale === "string") answer.rationale = draft.rationale;
  if (Number.isInteger(draft.elapsedMs)) {
    answer.elapsedMs = Math.min(MAX_TIME_MS, Math.max(0, Number(draft.elapsedMs)));
  }
  Object.assign(answer, restoreFeedback(draft, task));
  const cursor = Number.isInteger(draft.cursor) ? Number(draft.cursor) : 0;
  return { answer, touched: hasWork(answer), cursor };
}

/**
 * @param {unknown} value
 * @returns {[string, unknown][]}
 */
function entries(value) {
  return value && typeof value === "object" ? Object.entries(value) : [];
}

/**
 * A new task on screen, with its draft when there is one. `restored` says whether the draft held work.
 * A kept answer of this same task is back in place, so it is no longer shown apart.
 * @param {PageState} state
 * @param {Task} task
 * @param {unknown} draft what storage held for this task, or null
 * @param {string} newToken
 * @returns {{state: TaskState, restored: boolean}}
 */
export function showTask(state, task, draft, newToken) {
  const restored = draft ? restoreAnswer(draft, task, newToken) : null;
  const last = task.responses.length - 1;
  return {
    state: {
      ...state,
      view: "task",
      task,
      answer: restored ? restored.answer : freshAnswer(newToken),
      cursor: restored ? Math.min(Math.max(restored.cursor, 0), last) : 0,
      cursorShown: task.kind === "ranking",
      done: Number.isInteger(task.done) ? task.done : state.done,
      kept: state.kept && state.kept.taskId === task.id ? null : state.kept,
    },
    restored: Boolean(restored && restored.touched),
  };
}

/**
 * @param {PageState} state
 * @param {View} view
 * @returns {PageState}
 */
export function setView(state, view) {
  return { ...state, view };
}

/**
 * No task any more: "empty" (nothing left) or "error" (could not load one).
 * @param {PageState} state
 * @param {"empty" | "error"} view
 * @returns {PageState}
 */
export function withoutTask(state, view) {
  return { ...state, view, task: null, answer: null };
}

/**
 * @template {PageState} S
 * @param {S} state
 * @param {boolean} submitting
 * @returns {S}
 */
export function setSubmitting(state, submitting) {
  return { ...state, submitting };
}

/**
 * The server would not take the current task's answer: keep it (main.js leaves its draft in storage).
 * @param {TaskState} state
 * @param {"lost" | "full"} reason
 * @returns {TaskState}
 */
export function keepAnswer(state, reason) {
  return { ...state, kept: { taskId: state.task.id, rationale: state.answer.rationale, reason } };
}

/**
 * @template {PageState} S
 * @param {S} state
 * @returns {S}
 */
export function dismissKept(state) {
  return { ...state, kept: null };
}

/**
 * A submission was saved (and the annotator has moved on from any kept answer). `done` counts up here
 * only when no next task came with the answer (a next task carries the server's count) and the
 * annotation is new (201, not a replay of the same token).
 * @param {PageState} state
 * @param {{created: boolean, next: boolean}} result
 * @returns {PageState}
 */
export function countSubmission(state, { created, next }) {
  const done = !next && created && state.done !== null ? state.done + 1 : state.done;
  return { ...state, session: state.session + 1, done, kept: null };
}

// ------------------------------------------------------------------ changes to the answer

/**
 * @param {TaskState} state
 * @param {Partial<Answer>} change
 * @returns {TaskState}
 */
function withAnswer(state, change) {
  return { ...state, answer: { ...state.answer, ...change } };
}

/**
 * Pairwise verdict; with `toggle`, picking the current verdict again clears it (a click, not a key).
 * @param {TaskState} state
 * @param {Choice} choice
 * @param {{toggle?: boolean}} [options]
 * @returns {TaskState}
 */
export function choose(state, choice, { toggle = false } = {}) {
  return withAnswer(state, { choice: toggle && state.answer.choice === choice ? null : choice });
}

/**
 * Rank of the response at `index` (0 clears it). `toggle`: the same rank again clears it; `advance`: the
 * highlight moves on to the next response.
 * @param {TaskState} state
 * @param {number} index
 * @param {number} rank
 * @param {{toggle?: boolean, advance?: boolean}} [options]
 * @returns {TaskState}
 */
export function rank(state, index, rank, { toggle = false, advance = false } = {}) {
  const id = state.task.responses[index].id;
  if (rank && toggle && state.answer.ranks[id] === rank) rank = 0;
  const ranks = { ...state.answer.ranks };
  if (rank) ranks[id] = rank;
  else delete ranks[id];
  const next = withAnswer(state, { ranks });
  return advance && index < state.task.responses.length - 1 ? moveCursor(next, index + 1) : next;
}

/**
 * @param {TaskState} state
 * @returns {TaskState}
 */
export function toggleAllBad(state) {
  return withAnswer(state, { allBad: !state.answer.allBad });
}

/**
 * The same strength again clears it.
 * @param {TaskState} state
 * @param {Strength} strength
 * @returns {TaskState}
 */
export function pickStrength(state, strength) {
  return withAnswer(state, { strength: state.answer.strength === strength ? "" : strength });
}

/**
 * Score of the response at `index` on `axis` (0 clears it).
 * @param {TaskState} state
 * @param {number} index
 * @param {string} axis
 * @param {number} score
 * @returns {TaskState}
 */
export function rate(state, index, axis, score) {
  const id = state.task.responses[index].id;
  const scores = { ...state.answer.ratings[id] };
  if (score) scores[axis] = score;
  else delete scores[axis];
  const ratings = { ...state.answer.ratings, [id]: scores };
  if (!Object.keys(scores).length) delete ratings[id];
  return withAnswer(state, { ratings });
}

/**
 * @param {TaskState} state
 * @param {string} rationale
 * @returns {TaskState}
 */
export function writeRationale(state, rationale) {
  return withAnswer(state, { rationale });
}

/**
 * The highlight on the response at `index` (kept within the responses), drawn from now on.
 * @template {PageState} S
 * @param {S} state
 * @param {number} index
 * @returns {S}
 */
export function moveCursor(state, index) {
  const last = state.task ? state.task.responses.length - 1 : 0;
  return { ...state, cursor: Math.max(0, Math.min(last, index)), cursorShown: true };
}

/**
 * Time on task counts while the tab is visible and the annotator was active recently, in steps of at most
 * a few seconds. Returns how much `now` adds since `countedUntil`.
 * @param {{now: number, countedUntil: number, visible: boolean, lastActivity: number}} clock
 */
export function activeTime({ now, countedUntil, visible, lastActivity }) {
  if (!visible || now - lastActivity >= ACTIVE_WINDOW_MS) return 0;
  return Math.max(0, Math.min(now - countedUntil, MAX_STEP_MS));
}

/**
 * @template {PageState} S
 * @param {S} state
 * @param {number} ms
 * @returns {S}
 */
export function addTime(state, ms) {
  if (!state.answer || !ms) return state;
  return { ...state, answer: { ...state.answer, elapsedMs: Math.min(MAX_TIME_MS, state.answer.elapsedMs + ms) } };
}

/**
 * What a draft stores.
 * @param {TaskState} state
 * @param {number} now
 * @returns {Draft}
 */
export function draftOf(state, now) {
  return { ...state.answer, cursor: state.cursor, savedAt: now };
}
