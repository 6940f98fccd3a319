// @ts-check
// What the page's DOM events mean (the mouse and touch side, as keyboard.js is for keys): each listener
// reads its element's data attributes and calls one handler of main.js, which owns the state.
/** @import { Choice } from "./state.js" */
/** @import { Strength } from "./types.js" */
/** @import { Ui } from "./dom.js" */
import { ratingRowOf } from "./focus.js";
import { CHOICES, STRENGTHS } from "./state.js";

/**
 * @typedef {object} Handlers
 * @property {(event: KeyboardEvent) => void} keydown
 * @property {() => void} activity a key, a click, a wheel turn, input, a pointer move (at most every 5 s)
 * @property {() => void} scroll reading counts as activity (but sends no heartbeat)
 * @property {(choice: Choice) => void} choose a verdict button (a click on the current one clears it)
 * @property {() => void} allBad
 * @property {(strength: Strength) => void} strength
 * @property {() => void} submit
 * @property {(index: number, rank: number) => void} rank a rank button of the response at `index`
 * @property {(index: number, axis: string, score: number) => void} rate a rating radio button
 * @property {(index: number) => void} focusCard the focus moved into the response at `index`
 * @property {(text: string) => void} rationale
 * @property {() => void} toggleGuidelines
 * @property {() => void} openSkip
 * @property {(reason: string) => void} skip the skip dialog was confirmed
 * @property {() => void} reload "Check again", "Try again"
 * @property {() => void} copyKept copy the rationale of the answer the server would not take
 * @property {() => void} dismissKept
 * @property {() => void} away the tab was hidden or the page is going away
 * @property {() => void} back the tab is visible again
 */

/**
 * @param {Event} event
 * @param {string} selector
 */
function closest(event, selector) {
  return event.target instanceof Element ? event.target.closest(selector) : null;
}

/** @param {Element | null} node */
function cardIndex(node) {
  return Number(node?.closest(".response")?.getAttribute("data-index"));
}

/**
 * @param {Ui} ui
 * @param {Document} doc
 * @param {Handlers} on
 */
export function bindControls(ui, doc, on) {
  doc.addEventListener("keydown", on.keydown);
  for (const type of ["keydown", "pointerdown", "wheel", "input"]) {
    doc.addEventListener(type, on.activity, { passive: true, capture: true });
  }
  let lastMove = 0;
  doc.addEventListener(
    "pointermove",
    () => {
      const now = Date.now();
      if (now - lastMove > 5000) {
        lastMove = now;
        on.activity();
      }
    },
    { passive: true },
  );
  window.addEventListener("scroll", on.scroll, { passive: true });

  ui.pairChoices.addEventListener("click", (event) => {
    const value = closest(event, "[data-choice]")?.getAttribute("data-choice");
    const choice = CHOICES.find((c) => c === value);
    if (choice) on.choose(choice);
  });
  ui.allBad.addEventListener("click", () => on.allBad());
  ui.strengthGroup.addEventListener("click", (event) => {
    const value = closest(event, "[data-strength]")?.getAttribute("data-strength");
    const strength = STRENGTHS.find((s) => s === value);
    if (strength) on.strength(strength);
  });
  ui.submit.addEventListener("click", () => on.submit());

  ui.responses.addEventListener("click", (event) => {
    const button = closest(event, "[data-rank-value]");
    if (button) on.rank(cardIndex(button), Number(button.getAttribute("data-rank-value")));
  });
  ui.responses.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement)) return;
    const at = ratingRowOf(input);
    if (at) on.rate(at.index, at.axis, Number(input.value));
  });
  ui.responses.addEventListener("focusin", (event) => {
    const card = closest(event, ".response");
    if (card) on.focusCard(cardIndex(card));
  });
  ui.rationale.addEventListener("input", () => on.rationale(ui.rationale.value));

  ui.btnGuidelines.addEventListener("click", () => on.toggleGuidelines());
  ui.btnSkip.addEventListener("click", () => on.openSkip());
  for (const dialog of [ui.guidelines, ui.skip]) {
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || closest(event, "[data-close]")) dialog.close();
    });
  }
  ui.skip.addEventListener("close", () => {
    if (ui.skip.returnValue === "skip") on.skip(ui.skipReason.value.trim());
  });
  ui.btnCheckAgain.addEventListener("click", () => on.reload());
  ui.btnRetry.addEventListener("click", () => on.reload());
  ui.btnCopyKept.addEventListener("click", () => on.copyKept());
  ui.btnDismissKept.addEventListener("click", () => on.dismissKept());

  doc.addEventListener("visibilitychange", () => {
    if (doc.visibilityState === "hidden") on.away();
    else on.back();
  });
  window.addEventListener("pagehide", () => on.away());
}
