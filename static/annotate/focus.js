// @ts-check
// Focus and scrolling on the annotate page: where a key press happened (for keyboard.js), leaving a field,
// moving between rating rows, keeping the highlighted response in view.
/** @import { TaskState } from "./state.js" */
/** @import { Target } from "./keyboard.js" */
/** @import { Ui } from "./dom.js" */

/**
 * Where a key press happened, for the keyboard's rules.
 * @param {Ui} ui
 * @param {EventTarget | null} target
 * @returns {Target}
 */
export function targetKind(ui, target) {
  // The rewrite boxes are free text like the rationale: Ctrl+Enter submits, Esc leaves.
  if (target === ui.rationale || (target instanceof HTMLTextAreaElement && target.classList.contains("edit-text"))) {
    return "rationale";
  }
  if (
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLInputElement && !["radio", "checkbox", "button", "submit"].includes(target.type)) ||
    (target instanceof HTMLElement && target.isContentEditable)
  ) {
    return "text";
  }
  if (target instanceof HTMLInputElement && target.closest(".likert")) return "rating";
  if (target instanceof HTMLElement && target.closest("a, .site-header, .taskbar, .kept-draft")) return "chrome";
  return "other";
}

/** @param {Ui} ui */
export function leaveField(ui) {
  if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
  ui.main.focus({ preventScroll: true });
}

/**
 * Scrolls the highlighted response into view when it is out of the comfortable reading band.
 * @param {Ui} ui
 * @param {number} index
 */
export function scrollToCard(ui, index) {
  const card = ui.responses.children[index];
  if (!card) return;
  const box = card.getBoundingClientRect();
  const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (box.top < 60 || box.top > window.innerHeight * 0.6) {
    card.scrollIntoView({ block: "start", behavior: reduce ? "auto" : "smooth" });
  }
}

/** @param {Ui} ui */
export function ratingRows(ui) {
  return Array.from(ui.responses.querySelectorAll(".likert")).filter((row) => row instanceof HTMLElement);
}

/** @param {Element} row */
export function focusRatingRow(row) {
  const input = row.querySelector("input:checked") || row.querySelector("input");
  if (input instanceof HTMLElement) input.focus();
  const box = row.getBoundingClientRect();
  if (box.top < 70 || box.bottom > window.innerHeight - 130) row.scrollIntoView({ block: "center" });
}

/**
 * Focus the first unrated row of the highlighted response (or its first row).
 * @param {Ui} ui
 * @param {TaskState} state
 */
export function startRating(ui, state) {
  const card = ui.responses.children[state.cursor];
  const rows = card ? Array.from(card.querySelectorAll(".likert")) : [];
  if (!rows.length) return;
  const id = state.task.responses[state.cursor].id;
  const unrated = rows.find((row) => !state.answer.ratings[id]?.[row.getAttribute("data-axis") || ""]);
  focusRatingRow(unrated || rows[0]);
}

/**
 * The rating row of an element inside it, with its response index and axis.
 * @param {Element} node
 * @returns {{row: HTMLElement, index: number, axis: string} | null}
 */
export function ratingRowOf(node) {
  const row = node.closest(".likert");
  const card = node.closest(".response");
  if (!(row instanceof HTMLElement) || !(card instanceof HTMLElement)) return null;
  return { row, index: Number(card.dataset.index), axis: row.dataset.axis || "" };
}
