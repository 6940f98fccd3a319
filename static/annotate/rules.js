// @ts-check
// What an answer means, as pure functions of the task and the answer: the ranking it gives (verdicts,
// ranks with ties), whether strength applies, what Enter may submit, the submission body, the badges and
// the ranking summary. state.js changes answers; these read them.
/** @import { Answer } from "./state.js" */
/** @import { AnnotationBody, Ranking, Ratings, Task } from "./types.js" */
import { feedbackBody, hasFeedbackWork } from "./feedback.js";

export const LETTERS = "ABCDEF";

/** @typedef {"better" | "worse" | "tie" | ""} Verdict */

/**
 * Whether the annotator did anything on this answer (worth keeping, worth saying it was restored).
 * @param {Answer} answer
 */
export function hasWork(answer) {
  return Boolean(
    answer.choice || answer.allBad || answer.strength || answer.rationale ||
      Object.keys(answer.ranks).length || Object.keys(answer.ratings).length || hasFeedbackWork(answer),
  );
}

/**
 * The ranking the answer gives, or null while it is incomplete (no verdict; a response without a rank).
 * @param {Task} task
 * @param {Answer} answer
 * @returns {Ranking | null}
 */
export function rankingGroups(task, answer) {
  const ids = task.responses.map((r) => r.id);
  if (task.kind === "scoring") return null; // judged by its ratings alone
  if (task.kind === "pairwise") {
    const [a, b] = ids;
    if (answer.choice === "a") return [[a], [b]];
    if (answer.choice === "b") return [[b], [a]];
    if (answer.choice === "tie") return [[a, b]];
    return null;
  }
  if (ids.some((id) => !answer.ranks[id])) return null;
  return groupsByRank(ids, answer.ranks);
}

/**
 * @param {string[]} ids
 * @param {Record<string, number>} ranks
 * @returns {Ranking}
 */
function groupsByRank(ids, ranks) {
  const levels = [...new Set(ids.map((id) => ranks[id]))].sort((x, y) => x - y);
  return levels.map((level) => ids.filter((id) => ranks[id] === level));
}

/**
 * "How much better" only means something when one response alone is best.
 * @param {Ranking | null} groups
 */
export function strengthApplies(groups) {
  return Boolean(groups && groups.length > 1 && groups[0].length === 1);
}

/**
 * Whether Enter may submit: a complete ranking or verdict, or "all bad".
 * @param {Task} task
 * @param {Answer} answer
 */
export function isReady(task, answer) {
  if (task.kind === "scoring") return scored(task, answer);
  return Boolean(answer.allBad || rankingGroups(task, answer));
}

/**
 * A scoring task's one response has a score on every axis.
 * @param {Task} task
 * @param {Answer} answer
 */
export function scored(task, answer) {
  const scores = answer.ratings[task.responses[0]?.id] || {};
  return task.rating_axes.every((axis) => Number.isInteger(scores[axis]));
}

/**
 * A strength was picked that the current ranking ignores (worth a word to the annotator).
 * @param {Task} task
 * @param {Answer} answer
 */
export function strengthIgnored(task, answer) {
  const decided = answer.choice || Object.keys(answer.ranks).length;
  return Boolean(answer.strength && decided && !strengthApplies(rankingGroups(task, answer)));
}

/**
 * The submission body. Ratings of responses or axes the task does not have are dropped; strength is sent
 * only where it applies.
 * @param {Task} task
 * @param {Answer} answer
 * @returns {AnnotationBody}
 */
export function submissionBody(task, answer) {
  const groups = rankingGroups(task, answer);
  const ids = new Set(task.responses.map((r) => r.id));
  const axes = new Set(task.rating_axes);
  /** @type {Ratings} */
  const ratings = {};
  for (const [id, scores] of Object.entries(answer.ratings)) {
    if (!ids.has(id)) continue;
    const clean = Object.fromEntries(Object.entries(scores).filter(([axis]) => axes.has(axis)));
    if (Object.keys(clean).length) ratings[id] = clean;
  }
  /** @type {AnnotationBody} */
  const body = {
    strength: strengthApplies(groups) ? answer.strength : "",
    all_bad: answer.allBad,
    ratings,
    rationale: answer.rationale,
    time_spent_ms: Math.round(answer.elapsedMs),
    client_token: answer.clientToken,
  };
  // "All bad" alone says the bad ones are equally bad: one group of all of them (the server wants the
  // ranking spelled out, never a blank vote).
  if (task.kind === "scoring") return { ...body, all_bad: false, ...feedbackBody(task, answer) };
  if (groups) body.ranking = groups;
  else if (answer.allBad) body.ranking = [task.responses.map((r) => r.id)];
  return { ...body, ...feedbackBody(task, answer) };
}

/**
 * The badge of each response: pairwise better/worse/tie, ranking "tie" where a rank is shared.
 * @param {Task} task
 * @param {Answer} answer
 * @returns {Verdict[]}
 */
export function verdicts(task, answer) {
  const ids = task.responses.map((r) => r.id);
  return ids.map((id, index) => {
    if (task.kind === "pairwise") {
      if (answer.choice === "tie") return "tie";
      if (answer.choice === "a") return index === 0 ? "better" : "worse";
      if (answer.choice === "b") return index === 1 ? "better" : "worse";
      return "";
    }
    const rank = answer.ranks[id];
    return rank && ids.filter((other) => answer.ranks[other] === rank).length > 1 ? "tie" : "";
  });
}

/**
 * The ranking so far in letters, best first (`[["B"], ["A", "C"], ["D"]]`), and whether it is complete.
 * @param {Task} task
 * @param {Answer} answer
 * @returns {{levels: string[][], ranked: number, total: number, complete: boolean}}
 */
export function rankSummary(task, answer) {
  const ids = task.responses.map((r) => r.id);
  const ranked = ids.filter((id) => answer.ranks[id]);
  const complete = ranked.length === ids.length;
  const levels = groupsByRank(ranked, answer.ranks).map((group) => group.map((id) => LETTERS[ids.indexOf(id)]));
  return { levels, ranked: ranked.length, total: ids.length, complete };
}
