// @ts-check
// The reviewer page's state, pure (state in, state out), and what each key means. main.js owns the one
// state and draws it; a unit test can import this module.

/**
 * @typedef {object} ReviewResponse
 * @property {string} id
 * @property {string} text
 * @property {string} html  sanitised on the server
 */
/**
 * @typedef {object} ReviewAnnotation
 * @property {number} id
 * @property {string} annotator  pseudonym
 * @property {string[][]} ranking
 * @property {string} strength
 * @property {boolean} all_bad
 * @property {string} rationale
 * @property {boolean | null} gold_correct
 * @property {string | null} excluded
 * @property {number} time_spent_ms
 * @property {{response: string | null, text: string}[]} [edits]  rewrites (response: the original's id)
 * @property {Record<string, {safe: boolean, categories?: string[], severity?: string}>} [safety]  harm flags
 * @property {string[][] | null} [harmless_ranking]  the safer-response verdict, safest first
 */
/**
 * @typedef {object} ReviewItem
 * @property {{id: number, prompt: {messages: {role: string, content: string, html: string}[]},
 *   responses: ReviewResponse[], is_gold: boolean,
 *   gold: {expected: string[][], explanation: string} | null}} comparison
 * @property {ReviewAnnotation[]} annotations
 * @property {string[]} reasons
 * @property {string | null} lease_expires_at
 */
/** @typedef {"accept" | "override" | "reject_all"} Verdict */
/**
 * @typedef {object} ReviewState
 * @property {ReviewItem} item
 * @property {Verdict | null} verdict
 * @property {string[][]} order  the override's ranking so far (response ids, best first)
 * @property {number[]} rejected  annotation ids
 * @property {number} focus  index of the highlighted annotation
 * @property {string} comment
 */

export const LETTERS = "ABCDEF";

/**
 * @param {ReviewItem} item
 * @returns {ReviewState}
 */
export function initialState(item) {
  return { item, verdict: null, order: [], rejected: [], focus: 0, comment: "" };
}

/**
 * @param {ReviewState} state
 * @param {Verdict} verdict
 * @returns {ReviewState}
 */
export function chooseVerdict(state, verdict) {
  return { ...state, verdict, order: verdict === "override" ? state.order : [] };
}

/**
 * Override: the response at `index` comes next in the final order; when one is left it follows.
 * @param {ReviewState} state
 * @param {number} index
 * @returns {ReviewState}
 */
export function placeNext(state, index) {
  const ids = state.item.comparison.responses.map((r) => r.id);
  const id = ids[index];
  const placed = state.order.flat();
  if (id === undefined || placed.includes(id)) return state;
  const order = [...state.order, [id]];
  const left = ids.filter((rid) => !order.flat().includes(rid));
  if (left.length === 1) order.push(left);
  return { ...state, verdict: "override", order };
}

/**
 * Override: every response in one group (a tie).
 * @param {ReviewState} state
 * @returns {ReviewState}
 */
export function tieAll(state) {
  return { ...state, verdict: "override", order: [state.item.comparison.responses.map((r) => r.id)] };
}

/** @param {ReviewState} state */
export function clearOrder(state) {
  return { ...state, order: [] };
}

/**
 * @param {ReviewState} state
 * @param {number} step
 * @returns {ReviewState}
 */
export function moveFocus(state, step) {
  const n = state.item.annotations.length;
  if (!n) return state;
  return { ...state, focus: (state.focus + step + n) % n };
}

/**
 * Reject (or take back the rejection of) the highlighted annotation, or the one with `id`.
 * @param {ReviewState} state
 * @param {number} [id]
 * @returns {ReviewState}
 */
export function toggleReject(state, id) {
  const target = id ?? state.item.annotations[state.focus]?.id;
  if (target === undefined) return state;
  const rejected = state.rejected.includes(target)
    ? state.rejected.filter((a) => a !== target)
    : [...state.rejected, target];
  return { ...state, rejected };
}

/**
 * @param {ReviewState} state
 * @param {string} comment
 */
export function writeComment(state, comment) {
  return { ...state, comment };
}

/**
 * Whether the verdict can be sent: one is chosen, and an override ranks every response.
 * @param {ReviewState} state
 */
export function isReady(state) {
  if (state.verdict === null) return false;
  if (state.verdict !== "override") return true;
  return state.order.flat().length === state.item.comparison.responses.length;
}

/**
 * The body of POST /api/v1/comparisons/{id}/review/.
 * @param {ReviewState} state
 * @param {string} clientToken
 */
export function reviewBody(state, clientToken) {
  return {
    verdict: state.verdict,
    ...(state.verdict === "override" ? { ranking: state.order } : {}),
    rejected_annotations: [...state.rejected].sort((a, b) => a - b),
    comment: state.comment,
    client_token: clientToken,
  };
}

/**
 * A ranking (response ids) in the page's letters: "B > A", a tie "A = B".
 * @param {ReviewItem} item
 * @param {string[][]} ranking
 */
export function lettersOf(item, ranking) {
  const letter = new Map(item.comparison.responses.map((r, i) => [r.id, LETTERS[i]]));
  return ranking.map((group) => group.map((id) => letter.get(id) ?? "?").join(" = ")).join(" > ");
}

/**
 * @typedef {{type: "verdict", verdict: Verdict} | {type: "place", index: number} | {type: "tie"} |
 *   {type: "clear"} | {type: "focus", step: number} | {type: "reject"} | {type: "comment"} |
 *   {type: "submit"} | {type: "none"}} ReviewAction
 */

/**
 * What a key means on the review page (nothing while typing in the comment).
 * @param {string} key  KeyboardEvent.key
 * @param {{typing: boolean, responses: number}} ctx
 * @returns {ReviewAction}
 */
export function reviewKey(key, ctx) {
  if (ctx.typing) return { type: "none" };
  const lower = key.length === 1 ? key.toLowerCase() : key;
  if (lower === "a") return { type: "verdict", verdict: "accept" };
  if (lower === "o") return { type: "verdict", verdict: "override" };
  if (lower === "r") return { type: "verdict", verdict: "reject_all" };
  if (lower === "t") return { type: "tie" };
  if (lower === "0") return { type: "clear" };
  if (/^[1-6]$/.test(lower) && Number(lower) <= ctx.responses) return { type: "place", index: Number(lower) - 1 };
  if (lower === "j" || key === "ArrowDown") return { type: "focus", step: 1 };
  if (lower === "k" || key === "ArrowUp") return { type: "focus", step: -1 };
  if (lower === "x") return { type: "reject" };
  if (lower === "c") return { type: "comment" };
  if (key === "Enter") return { type: "submit" };
  return { type: "none" };
}
