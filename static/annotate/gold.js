// @ts-check
// Feedback after a gold (check) item, where the project shows it (gold_feedback): whether the answer was
// the expected one, the expected order as the page's letters, and the explanation. The server sends it in
// the submission's reply only then; without it nothing is shown. Text always goes in as text.
/** @import { Task } from "./types.js" */
/** @import { Translate } from "./i18n.js" */
import { el } from "./dom.js";
import { LETTERS } from "./rules.js";

/**
 * @typedef {object} GoldFeedback
 * @property {boolean} correct
 * @property {string[][]} expected  response ids, best group first
 * @property {string} explanation
 */

/**
 * The expected order in the letters the annotator saw: "B > A", ties as "A = B". Pure.
 * @param {Task} task
 * @param {string[][]} expected
 */
export function expectedOrder(task, expected) {
  const letter = new Map(task.responses.map((response, index) => [response.id, LETTERS[index]]));
  return expected.map((group) => group.map((id) => letter.get(id) ?? "?").join(" = ")).join(" > ");
}

/**
 * Show (or, with no feedback, hide) the gold panel for the task just submitted.
 * @param {Document} doc
 * @param {Task} task
 * @param {GoldFeedback | null | undefined} gold
 * @param {Translate} t
 */
export function renderGoldFeedback(doc, task, gold, t) {
  const panel = doc.getElementById("gold-feedback");
  if (!(panel instanceof HTMLElement)) return;
  panel.replaceChildren();
  panel.hidden = !gold;
  if (!gold) return;
  panel.dataset.correct = String(gold.correct);
  const head = el("p", "gold-verdict", t(gold.correct ? "gold.correct" : "gold.wrong"));
  const order = el("p", "gold-expected", t("gold.expected", { order: expectedOrder(task, gold.expected) }));
  panel.append(head, order);
  if (gold.explanation) panel.append(el("p", "gold-explanation", gold.explanation));
  const close = el("button", "btn btn-quiet btn-small", t("gold.dismiss"));
  close.setAttribute("type", "button");
  close.addEventListener("click", () => {
    panel.hidden = true;
  });
  panel.append(close);
}
