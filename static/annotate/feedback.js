// @ts-check
// The feedback kinds beside the verdict (issue 11), as pure functions like state.js: rewrites of a response
// (or an answer written from scratch), harm flags per response, and the "which is safer" verdict; what they
// add to a submission and what keeps it from being ready.
/** @import { Choice, TaskState } from "./state.js" */
/** @import { Task } from "./types.js" */

/** The key of the answer written from scratch in `Answer.edits` (response ids are UUIDs). */
export const SCRATCH = "_";
/** @type {readonly string[]} */
export const SEVERITIES = ["minor", "moderate", "severe"];

/**
 * A harm flag: `safe` true or false (absent: not judged), the categories and severity of an unsafe one.
 * @typedef {{safe: boolean, categories: string[], severity: string}} Flag
 */

/**
 * @typedef {object} Feedback
 * @property {Record<string, string>} edits response id (or SCRATCH) -> the rewrite being written
 * @property {Record<string, Flag>} safety response id -> its harm flag
 * @property {Choice | null} safer pairwise "which is safer" verdict
 */

/** @returns {Feedback} */
export function emptyFeedback() {
  return { edits: {}, safety: {}, safer: null };
}

/**
 * A stored draft's feedback made to fit the task (unknown ids, categories and values are dropped).
 * @param {Record<string, unknown>} draft
 * @param {Task} task
 * @returns {Feedback}
 */
export function restoreFeedback(draft, task) {
  const ids = new Set(task.responses.map((r) => r.id));
  const slugs = new Set((task.safety_categories || []).map((c) => c.slug));
  const feedback = emptyFeedback();
  if (task.allow_edits) {
    for (const [key, text] of Object.entries(asObject(draft.edits))) {
      if ((ids.has(key) || key === SCRATCH) && typeof text === "string") feedback.edits[key] = text;
    }
  }
  for (const [id, flag] of Object.entries(asObject(draft.safety))) {
    const f = asObject(flag);
    if (!ids.has(id) || !slugs.size || typeof f.safe !== "boolean") continue;
    const categories = Array.isArray(f.categories) ? f.categories.filter((c) => slugs.has(c)) : [];
    const severity = SEVERITIES.find((s) => s === f.severity) ?? "";
    feedback.safety[id] = f.safe ? { safe: true, categories: [], severity: "" } : { safe: false, categories, severity };
  }
  if (task.dual_preference && ["a", "b", "tie"].includes(String(draft.safer))) {
    feedback.safer = /** @type {Choice} */ (draft.safer);
  }
  return feedback;
}

/**
 * @param {unknown} value
 * @returns {Record<string, unknown>}
 */
function asObject(value) {
  return value && typeof value === "object" && !Array.isArray(value) ? /** @type {Record<string, unknown>} */ (value) : {};
}

/**
 * @param {TaskState} state
 * @param {Partial<Feedback>} change
 * @returns {TaskState}
 */
function withFeedback(state, change) {
  return { ...state, answer: { ...state.answer, ...change } };
}

/**
 * The rewrite of `key` (a response id or SCRATCH) is now `text`; `null` discards it.
 * @param {TaskState} state
 * @param {string} key
 * @param {string | null} text
 * @returns {TaskState}
 */
export function setEdit(state, key, text) {
  const edits = { ...state.answer.edits };
  if (text === null) delete edits[key];
  else edits[key] = text;
  return withFeedback(state, { edits });
}

/**
 * The response at `index` is safe or unsafe (`null`: not judged). Unsafe keeps its categories.
 * @param {TaskState} state
 * @param {number} index
 * @param {boolean | null} safe
 * @returns {TaskState}
 */
export function setSafe(state, index, safe) {
  const id = state.task.responses[index].id;
  const safety = { ...state.answer.safety };
  const before = safety[id];
  if (safe === null) delete safety[id];
  else if (safe) safety[id] = { safe: true, categories: [], severity: "" };
  else safety[id] = { safe: false, categories: before?.categories ?? [], severity: before?.severity ?? "" };
  return withFeedback(state, { safety });
}

/**
 * A harm category of the response at `index` on or off (which marks it unsafe).
 * @param {TaskState} state
 * @param {number} index
 * @param {string} slug
 * @param {boolean} on
 * @returns {TaskState}
 */
export function setCategory(state, index, slug, on) {
  const id = state.task.responses[index].id;
  const flag = state.answer.safety[id];
  const categories = new Set(flag && !flag.safe ? flag.categories : []);
  if (on) categories.add(slug);
  else categories.delete(slug);
  const severity = flag && !flag.safe ? flag.severity : "";
  return withFeedback(state, {
    safety: { ...state.answer.safety, [id]: { safe: false, categories: [...categories], severity } },
  });
}

/**
 * @param {TaskState} state
 * @param {number} index
 * @param {string} severity
 * @returns {TaskState}
 */
export function setSeverity(state, index, severity) {
  const id = state.task.responses[index].id;
  const flag = state.answer.safety[id];
  const categories = flag && !flag.safe ? flag.categories : [];
  return withFeedback(state, {
    safety: { ...state.answer.safety, [id]: { safe: false, categories, severity } },
  });
}

/**
 * "Which is safer"; the same choice again clears it.
 * @param {TaskState} state
 * @param {Choice} choice
 * @returns {TaskState}
 */
export function chooseSafer(state, choice) {
  return withFeedback(state, { safer: state.answer.safer === choice ? null : choice });
}

/**
 * The original text of a rewrite's key ("" for an answer from scratch).
 * @param {Task} task
 * @param {string} key
 */
export function originalOf(task, key) {
  return task.responses.find((r) => r.id === key)?.text ?? "";
}

/**
 * Whether a rewrite says something new (what the server takes: not empty, not the original).
 * @param {Task} task
 * @param {string} key
 * @param {string} text
 */
export function editCounts(task, key, text) {
  return Boolean(text.trim()) && text.trim() !== originalOf(task, key).trim();
}

/** @param {Feedback} answer */
export function hasFeedbackWork(answer) {
  return Boolean(Object.keys(answer.edits).length || Object.keys(answer.safety).length || answer.safer);
}

/**
 * What keeps the answer from being sent, as an i18n key ("" when nothing): an unsafe flag without a
 * category or a severity.
 * @param {Task} task
 * @param {Feedback} answer
 */
export function feedbackProblem(task, answer) {
  const ids = new Set(task.responses.map((r) => r.id));
  for (const [id, flag] of Object.entries(answer.safety)) {
    if (ids.has(id) && !flag.safe && (!flag.categories.length || !flag.severity)) return "need.harm";
  }
  return "";
}

/**
 * The submission's feedback fields: the rewrites that count, the harm flags, the safer verdict as a
 * ranking (pairwise tasks of a dual-preference project).
 * @param {Task} task
 * @param {Feedback} answer
 * @returns {{edits?: {response: string | null, text: string}[], safety?: Record<string, Flag>, harmless_ranking?: string[][]}}
 */
export function feedbackBody(task, answer) {
  /** @type {ReturnType<typeof feedbackBody>} */
  const body = {};
  const ids = task.responses.map((r) => r.id);
  const edits = Object.entries(answer.edits)
    .filter(([key, text]) => (key === SCRATCH || ids.includes(key)) && editCounts(task, key, text))
    .map(([key, text]) => ({ response: key === SCRATCH ? null : key, text: text.trim() }));
  if (task.allow_edits && edits.length) body.edits = edits;
  /** @type {Record<string, Flag>} */
  const safety = {};
  for (const [id, flag] of Object.entries(answer.safety)) {
    if (!ids.includes(id)) continue;
    safety[id] = flag.safe ? { safe: true, categories: [], severity: "" } : flag;
  }
  if ((task.safety_categories || []).length && Object.keys(safety).length) body.safety = safety;
  if (task.dual_preference && task.kind === "pairwise" && answer.safer) {
    const [a, b] = ids;
    body.harmless_ranking = answer.safer === "a" ? [[a], [b]] : answer.safer === "b" ? [[b], [a]] : [[a, b]];
  }
  return body;
}
