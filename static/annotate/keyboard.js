// @ts-check
// Keys -> actions, pure: what a key press means, given what the page shows and where the focus is. main.js
// describes the event and its target (KeyContext, KeyPress), then carries the action out.
/** @import { Choice, View } from "./state.js" */
/** @import { Strength } from "./types.js" */

/**
 * Where the focus was when the key went down.
 * - "rationale": the rationale textarea; "text": any other text entry (inputs that take text, selects,
 *   contenteditable), where keys type and only Escape means something;
 * - "rating": a radio button of a rating row;
 * - "chrome": inside a link, the site header, the taskbar or the kept-answer box, where Enter keeps its
 *   usual meaning;
 * - "other": anything else (the page, a response, a decision button).
 * @typedef {"rationale" | "text" | "rating" | "chrome" | "other"} Target
 */

/**
 * @typedef {object} KeyContext
 * @property {View} view
 * @property {"scoring" | "pairwise" | "ranking" | null} kind the current task's kind
 * @property {number} responses how many responses the task has
 * @property {number} scaleMax the task's rating scale (1..scaleMax)
 * @property {boolean} guidelinesOpen
 * @property {boolean} skipOpen
 * @property {Target} target
 * @property {boolean} focusOnMain whether the focus is on the page itself (nothing to leave)
 * @property {boolean} [edits] the task takes rewrites (T, O)
 * @property {boolean} [harm] the task takes harm flags (H)
 * @property {boolean} [safer] the task asks which response is safer (A, B, D)
 */

/**
 * The parts of a KeyboardEvent that matter here.
 * @typedef {object} KeyPress
 * @property {string} key
 * @property {string} code
 * @property {boolean} ctrlKey
 * @property {boolean} metaKey
 * @property {boolean} altKey
 * @property {boolean} repeat
 * @property {boolean} isComposing
 * @property {number} keyCode
 * @property {boolean} defaultPrevented
 */

/**
 * What to do. The key's default is prevented unless `keepDefault` is set.
 * @typedef {(
 *   | {type: "toggle-guidelines"}
 *   | {type: "close-guidelines"}
 *   | {type: "leave", keepDefault?: true}
 *   | {type: "submit"}
 *   | {type: "swallow"}
 *   | {type: "rate", score: number}
 *   | {type: "unrate"}
 *   | {type: "rating-row", delta: 1 | -1}
 *   | {type: "rank", rank: number}
 *   | {type: "choose", choice: Choice}
 *   | {type: "all-bad"}
 *   | {type: "strength", strength: Strength}
 *   | {type: "cursor", delta: 1 | -1}
 *   | {type: "start-rating"}
 *   | {type: "rationale"}
 *   | {type: "skip"}
 *   | {type: "score", score: number}
 *   | {type: "edit"}
 *   | {type: "edit-scratch"}
 *   | {type: "harm"}
 *   | {type: "safer", choice: Choice}
 * )} KeyAction
 * - "leave": leave the field (blur it, focus the page);
 * - "swallow": nothing (Enter held down must not submit twice);
 * - "rate"/"unrate"/"rating-row": the focused rating row gets a score (and the focus moves to the next
 *   row, or leaves after the last), loses it, or the focus moves to another row;
 * - "rank": rank of the highlighted response (0 clears it; a rank moves the highlight on);
 * - "start-rating": focus the first unrated row of the highlighted response;
 * - "score": a scoring task's digit, the score of its first unrated axis;
 * - "edit" / "edit-scratch": open (or go back to) the rewrite of the highlighted response / the answer
 *   written from scratch; "harm": the harm flag of the highlighted response; "safer": which is safer.
 */

/** @type {Record<string, Strength>} */
const STRENGTH_KEYS = { q: "slight", w: "clear", e: "strong" };
/** @type {readonly Choice[]} */
const CHOICE_KEYS = ["a", "b", "tie"];
/** @type {Record<string, Choice>} */
const SAFER_KEYS = { a: "a", b: "b", d: "tie" };

/**
 * Letters and digits by what the key types (lower case), falling back to the physical key on layouts
 * whose keys type something else (Cyrillic, Greek, ...); other keys by name ("Enter", "ArrowDown").
 * @param {{key: string, code: string}} event
 */
export function keyName({ key, code }) {
  if (key.length === 1 && key >= " " && key <= "~") return key.toLowerCase();
  if (key.length === 1) {
    const physical = /^(?:Digit|Numpad)(\d)$/.exec(code) || /^Key([A-Z])$/.exec(code);
    if (physical) return physical[1].toLowerCase();
  }
  return key;
}

/**
 * The action for a key press, or null when the key is not the page's (the browser does what it does).
 * @param {KeyContext} ctx
 * @param {KeyPress} press
 * @returns {KeyAction | null}
 */
export function keyAction(ctx, press) {
  if (press.defaultPrevented || press.isComposing || press.keyCode === 229) return null; // an IME at work
  const key = keyName(press);
  const typing = ctx.target === "text" || ctx.target === "rationale";
  const guidelinesKey = (key === "g" || key === "?") && !typing && !press.ctrlKey && !press.metaKey;

  if (ctx.guidelinesOpen) return guidelinesKey ? { type: "close-guidelines" } : null;
  if (ctx.skipOpen) return null; // the dialog's form: Enter confirms, Esc cancels
  if (ctx.view !== "task") return guidelinesKey && !press.altKey ? { type: "toggle-guidelines" } : null;

  if (typing) {
    if (key === "Escape") return { type: "leave" };
    const submitKey = key === "Enter" && (press.ctrlKey || press.metaKey);
    if (submitKey && ctx.target === "rationale") return { type: "submit" };
    return null;
  }
  if (press.ctrlKey || press.metaKey || press.altKey) return null;

  if (ctx.target === "rating") {
    const action = ratingKey(ctx, key);
    if (action !== undefined) return action;
  }

  const ranking = ctx.kind === "ranking";
  const scoring = ctx.kind === "scoring";
  const feedback = feedbackKey(ctx, key);
  if (feedback) return feedback;
  if (/^\d$/.test(key)) {
    const digit = Number(key);
    if (scoring) return digit >= 1 && digit <= ctx.scaleMax ? { type: "score", score: digit } : null;
    if (ranking) return digit > ctx.responses ? null : { type: "rank", rank: digit };
    return digit >= 1 && digit <= 3 ? { type: "choose", choice: CHOICE_KEYS[digit - 1] } : null;
  }

  switch (key) {
    case "Enter":
      if (ctx.target === "chrome") return null;
      return press.repeat ? { type: "swallow" } : { type: "submit" };
    case "Backspace":
    case "Delete":
      return ranking ? { type: "rank", rank: 0 } : null;
    case "x":
      return scoring ? null : { type: "all-bad" };
    case "q":
    case "w":
    case "e":
      return scoring ? null : { type: "strength", strength: STRENGTH_KEYS[key] };
    case "j":
      return { type: "cursor", delta: 1 };
    case "k":
      return { type: "cursor", delta: -1 };
    case "r":
      return { type: "start-rating" };
    case "n":
      return { type: "rationale" };
    case "s":
      return { type: "skip" };
    case "g":
    case "?":
      return { type: "toggle-guidelines" };
    case "Escape":
      return ctx.focusOnMain ? null : { type: "leave", keepDefault: true };
    default:
      return null;
  }
}

/**
 * The feedback kinds' keys, where the task takes them: T rewrite, O own answer, H harm flag, A/B/D safer.
 * @param {KeyContext} ctx
 * @param {string} key
 * @returns {KeyAction | null}
 */
function feedbackKey(ctx, key) {
  if (ctx.edits && key === "t") return { type: "edit" };
  if (ctx.edits && key === "o") return { type: "edit-scratch" };
  if (ctx.harm && key === "h") return { type: "harm" };
  if (ctx.safer && key in SAFER_KEYS) return { type: "safer", choice: SAFER_KEYS[key] };
  return null;
}

/**
 * Keys of a focused rating row. `undefined`: not a rating key, the page's own keys apply (J/K, Enter, a
 * digit beyond the scale, ...).
 * @param {KeyContext} ctx
 * @param {string} key
 * @returns {KeyAction | null | undefined}
 */
function ratingKey(ctx, key) {
  if (/^\d$/.test(key)) {
    const score = Number(key);
    if (score >= 1 && score <= ctx.scaleMax) return { type: "rate", score };
    return key === "0" ? null : undefined;
  }
  if (key === "Backspace" || key === "Delete") return { type: "unrate" };
  if (key === "ArrowDown") return { type: "rating-row", delta: 1 };
  if (key === "ArrowUp") return { type: "rating-row", delta: -1 };
  if (key === "Escape") return { type: "leave" };
  return undefined;
}
