// @ts-check
// The feedback kinds on the page (issue 11): on each response card a "Rewrite" box with the difference to
// the original shown as it is typed, and a harm flag (safe / unsafe, the project's categories with their
// descriptions, a severity); below the cards an answer written from scratch. Model output and rewrites are
// text: the textarea's value and the diff's text nodes, never HTML.
/** @import { TaskState } from "./state.js" */
/** @import { Task } from "./types.js" */
/** @import { Translate } from "./i18n.js" */
/** @import { Ui } from "./dom.js" */
import { wordDiff } from "./diff.js";
import { el } from "./dom.js";
import { SCRATCH, SEVERITIES, editCounts, originalOf } from "./feedback.js";

/**
 * @typedef {object} FeedbackHandlers
 * @property {(key: string) => void} openEdit open the rewrite of a response id (or SCRATCH)
 * @property {(key: string, text: string) => void} edit the rewrite's text changed
 * @property {(key: string) => void} discardEdit
 * @property {(index: number, safe: boolean) => void} safe
 * @property {(index: number, slug: string, on: boolean) => void} category
 * @property {(index: number, severity: string) => void} severity
 * @property {(choice: import("./state.js").Choice) => void} safer a "which is safer" button
 */

/**
 * A category's name and description: the built-in ones translated, the project's own as it wrote them.
 * @param {{slug: string, description: string}} category
 * @param {Translate} t
 */
function categoryText(category, t) {
  return {
    name: t(`harm.${category.slug}`, undefined, category.slug.replaceAll("_", " ")),
    description: t(`harmdesc.${category.slug}`, undefined, category.description),
  };
}

/**
 * The rewrite box of `key`: its textarea, the live diff and a discard button.
 * @param {string} key
 * @param {string} idBase
 * @param {Translate} t
 */
function editPanel(key, idBase, t) {
  const panel = el("div", "edit-panel");
  panel.dataset.editKey = key;
  panel.hidden = true;
  const label = el("label", "edit-label", t(key === SCRATCH ? "edit.scratch.label" : "edit.label"));
  label.setAttribute("for", `${idBase}-text`);
  const text = document.createElement("textarea");
  text.className = "edit-text";
  text.id = `${idBase}-text`;
  text.rows = 6;
  text.spellcheck = true;
  text.dataset.editKey = key;
  const diff = el("div", "edit-diff");
  diff.setAttribute("aria-label", t("edit.diff"));
  const foot = el("div", "edit-foot");
  const hint = el("span", "edit-hint");
  hint.append(el("kbd", "", "Esc"), ` ${t("edit.leave")} · `, el("kbd", "", "Ctrl"), "+", el("kbd", "", "Enter"), ` ${t("edit.submit")}`);
  const discard = el("button", "btn btn-quiet btn-small", t("edit.discard"));
  discard.setAttribute("type", "button");
  discard.dataset.editDiscard = key;
  foot.append(hint, discard);
  panel.append(label, text, diff, foot);
  if (key === SCRATCH) diff.hidden = true;
  return panel;
}

/**
 * The harm flag of the response at `index`.
 * @param {Task} task
 * @param {number} index
 * @param {Translate} t
 */
function harmBlock(task, index, t) {
  const box = el("fieldset", "harm");
  box.dataset.index = String(index);
  const legend = el("legend", "harm-legend");
  legend.append(t("harm.title"), " ", el("kbd", "", "H"));
  box.append(legend);
  const verdict = el("div", "harm-verdict");
  for (const [value, label] of [["safe", t("harm.safe")], ["unsafe", t("harm.unsafe")]]) {
    const option = el("label", `harm-option harm-${value}`);
    const input = document.createElement("input");
    input.type = "radio";
    input.name = `safe-${task.id}-${index}`;
    input.value = value;
    input.dataset.harmSafe = value;
    option.append(input, label);
    verdict.append(option);
  }
  box.append(verdict);
  const detail = el("div", "harm-detail");
  detail.hidden = true;
  const list = el("div", "harm-categories");
  for (const category of task.safety_categories) {
    const { name, description } = categoryText(category, t);
    const option = el("label", "harm-category");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = category.slug;
    input.dataset.harmCategory = category.slug;
    const words = el("span", "harm-words");
    words.append(el("span", "harm-name", name), el("span", "harm-description", description));
    option.append(input, words);
    list.append(option);
  }
  const severity = el("div", "harm-severity");
  severity.setAttribute("role", "radiogroup");
  severity.append(el("span", "harm-severity-label", t("harm.severity")));
  for (const level of SEVERITIES) {
    const option = el("label", "harm-level");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = `severity-${task.id}-${index}`;
    input.value = level;
    input.dataset.harmSeverity = level;
    option.append(input, t(`severity.${level}`));
    severity.append(option);
  }
  detail.append(list, severity);
  box.append(detail);
  return box;
}

/**
 * The feedback part of the response card at `index` (appended by cards.js).
 * @param {Task} task
 * @param {number} index
 * @param {Translate} t
 */
export function cardFeedback(task, index, t) {
  const part = el("div", "card-feedback");
  if (task.allow_edits) {
    const open = el("button", "btn btn-quiet btn-small edit-open");
    open.setAttribute("type", "button");
    open.dataset.editOpen = task.responses[index].id;
    open.append(t("edit.open"), " ", el("kbd", "", "T"));
    part.append(open);
  }
  if (task.safety_categories.length) part.append(harmBlock(task, index, t));
  if (task.allow_edits) part.append(editPanel(task.responses[index].id, `edit-${index}`, t));
  return part;
}

/**
 * The answer written from scratch, below the cards (hidden where the project takes no edits).
 * @param {Ui} ui
 * @param {Task} task
 * @param {Translate} t
 */
export function renderScratch(ui, task, t) {
  ui.scratch.replaceChildren();
  ui.scratch.hidden = !task.allow_edits;
  if (!task.allow_edits) return;
  const open = el("button", "btn btn-quiet btn-small edit-open");
  open.setAttribute("type", "button");
  open.dataset.editOpen = SCRATCH;
  open.append(t("edit.scratch"), " ", el("kbd", "", "O"));
  ui.scratch.append(open, editPanel(SCRATCH, "edit-scratch", t));
}

/**
 * @param {HTMLElement} diff
 * @param {string} before
 * @param {string} after
 * @param {Translate} t
 */
function drawDiff(diff, before, after, t) {
  if (!after.trim() || after.trim() === before.trim()) {
    diff.replaceChildren(el("span", "edit-unchanged", t(after.trim() ? "edit.unchanged" : "edit.empty")));
    return;
  }
  const parts = wordDiff(before, after).map((part) =>
    part.op === "same" ? document.createTextNode(part.text) : el(part.op === "add" ? "ins" : "del", "", part.text),
  );
  diff.replaceChildren(...parts);
}

/**
 * Draws the feedback of the answer: open rewrite boxes (their text, unless being typed in) and diffs,
 * the harm flags, the safer verdict's buttons.
 * @param {Ui} ui
 * @param {TaskState} state
 * @param {Translate} t
 */
export function renderFeedback(ui, state, t) {
  const { task, answer } = state;
  for (const panel of ui.root.querySelectorAll(".edit-panel")) {
    if (!(panel instanceof HTMLElement)) continue;
    const key = panel.dataset.editKey || "";
    const text = answer.edits[key];
    panel.hidden = text === undefined;
    const opener = ui.root.querySelector(`[data-edit-open="${CSS.escape(key)}"]`);
    if (opener) opener.setAttribute("aria-expanded", String(text !== undefined));
    if (text === undefined) continue;
    const area = panel.querySelector("textarea");
    if (area && area.value !== text && document.activeElement !== area) area.value = text;
    const diff = panel.querySelector(".edit-diff");
    if (diff instanceof HTMLElement && key !== SCRATCH) drawDiff(diff, originalOf(task, key), text, t);
    const card = panel.closest(".response");
    if (card instanceof HTMLElement) card.dataset.edited = editCounts(task, key, text) ? "true" : "false";
  }
  for (const box of ui.responses.querySelectorAll(".harm")) {
    if (!(box instanceof HTMLElement)) continue;
    const id = task.responses[Number(box.dataset.index)]?.id;
    const flag = id ? answer.safety[id] : undefined;
    for (const input of box.querySelectorAll("input")) {
      if (input.dataset.harmSafe) input.checked = flag !== undefined && (input.dataset.harmSafe === "safe") === flag.safe;
      if (input.dataset.harmCategory) input.checked = Boolean(flag && !flag.safe && flag.categories.includes(input.value));
      if (input.dataset.harmSeverity) input.checked = Boolean(flag && !flag.safe && flag.severity === input.value);
    }
    const detail = box.querySelector(".harm-detail");
    if (detail instanceof HTMLElement) detail.hidden = !flag || flag.safe;
    const card = box.closest(".response");
    if (card instanceof HTMLElement) {
      if (flag) card.dataset.harm = flag.safe ? "safe" : "unsafe";
      else delete card.dataset.harm;
    }
  }
  for (const button of ui.saferGroup.querySelectorAll("[data-safer]")) {
    button.setAttribute("aria-pressed", String(answer.safer === button.getAttribute("data-safer")));
  }
}

/**
 * Focus the rewrite box of `key` (at the end of its text).
 * @param {Ui} ui
 * @param {string} key
 */
export function focusEdit(ui, key) {
  const area = ui.root.querySelector(`textarea[data-edit-key="${CSS.escape(key)}"]`);
  if (!(area instanceof HTMLTextAreaElement)) return;
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
  area.scrollIntoView({ block: "center" });
}

/**
 * Focus the harm flag of the response at `index` (its checked option, else "safe").
 * @param {Ui} ui
 * @param {number} index
 */
export function focusHarm(ui, index) {
  const box = ui.responses.querySelector(`.harm[data-index="${index}"]`);
  const input = box?.querySelector("input[data-harm-safe]:checked") || box?.querySelector("input[data-harm-safe]");
  if (input instanceof HTMLElement) {
    input.focus();
    input.scrollIntoView({ block: "center" });
  }
}

/**
 * @param {Element} node
 */
function cardIndexOf(node) {
  return Number(node.closest(".response")?.getAttribute("data-index"));
}

/**
 * What the feedback controls' clicks, typing and changes mean.
 * @param {Ui} ui
 * @param {FeedbackHandlers} on
 */
export function bindFeedback(ui, on) {
  ui.root.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const open = target?.closest("[data-edit-open]");
    if (open) on.openEdit(open.getAttribute("data-edit-open") || "");
    const discard = target?.closest("[data-edit-discard]");
    if (discard) on.discardEdit(discard.getAttribute("data-edit-discard") || "");
  });
  ui.root.addEventListener("input", (event) => {
    const area = event.target;
    if (area instanceof HTMLTextAreaElement && area.dataset.editKey !== undefined) on.edit(area.dataset.editKey, area.value);
  });
  ui.saferGroup.addEventListener("click", (event) => {
    const value = event.target instanceof Element ? event.target.closest("[data-safer]")?.getAttribute("data-safer") : null;
    if (value === "a" || value === "b" || value === "tie") on.safer(value);
  });
  ui.responses.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.closest(".harm")) return;
    const index = cardIndexOf(input);
    if (input.dataset.harmSafe) on.safe(index, input.dataset.harmSafe === "safe");
    else if (input.dataset.harmCategory) on.category(index, input.value, input.checked);
    else if (input.dataset.harmSeverity) on.severity(index, input.value);
  });
}
