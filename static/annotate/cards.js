// @ts-check
// Builds a task's conversation and response cards (with their rank pickers and rating rows). Safety: the
// API's `html` fields are sanitised on the server (markdown rendered with raw HTML off, then an allowlist);
// they are the only thing ever set with innerHTML. Everything else goes in as text.
/** @import { Message, Task } from "./types.js" */
/** @import { TaskState } from "./state.js" */
/** @import { Translate } from "./i18n.js" */
/** @import { Ui } from "./dom.js" */
import { el } from "./dom.js";
import { cardFeedback, renderScratch } from "./feedback-cards.js";
import { splitPlaceholders } from "./i18n.js";
import { LETTERS } from "./rules.js";

const ROLES = new Set(["system", "user", "assistant"]);

/**
 * A translated template whose {placeholders} become nodes (key caps), so translators can move them.
 * @param {string} template
 * @param {Record<string, () => Node>} nodes
 */
function fillNodes(template, nodes) {
  const out = document.createDocumentFragment();
  for (const [i, part] of splitPlaceholders(template).entries()) {
    if (i % 2 === 0) {
      if (part) out.append(part);
    } else {
      out.append(nodes[part] ? nodes[part]() : `{${part}}`);
    }
  }
  return out;
}

/**
 * Key caps for fillNodes; a "–" between two keys is a range (1–7).
 * @param {...string} keys
 */
function kbd(...keys) {
  return () => {
    const frag = document.createDocumentFragment();
    for (const key of keys) frag.append(key === "–" ? "–" : el("kbd", "", key));
    return frag;
  };
}

/**
 * A new task's conversation, response cards and rationale (render.js then draws the answer on them).
 * @param {Ui} ui
 * @param {TaskState} state
 * @param {Translate} t
 */
export function renderTask(ui, state, t) {
  ui.root.dataset.taskId = String(state.task.id);
  renderConversation(ui, state.task.prompt.messages, t);
  renderResponses(ui, state.task, t);
  ui.rationale.value = state.answer.rationale;
}

/**
 * @param {Ui} ui
 * @param {Message[]} messages
 * @param {Translate} t
 */
function renderConversation(ui, messages, t) {
  const lastUser = messages.map((m) => m.role).lastIndexOf("user");
  const nodes = messages.map((message, i) => {
    const role = ROLES.has(message.role) ? message.role : "assistant";
    const wrap = el("div", `msg msg-${role}`);
    if (i === lastUser && messages.length > 1) wrap.classList.add("msg-last");
    wrap.append(el("div", "msg-role", t(`role.${role}`)));
    const bubble = el("div", "msg-bubble md");
    bubble.innerHTML = message.html; // sanitised on the server
    wrap.append(bubble);
    return wrap;
  });
  ui.conversation.replaceChildren(...nodes);
  ui.conversation.classList.toggle("is-single", messages.length === 1);
  ui.turnCount.textContent = messages.length > 1 ? t("turns", { n: messages.length }) : "";
}

/**
 * @param {Ui} ui
 * @param {Task} task
 * @param {Translate} t
 */
function renderResponses(ui, task, t) {
  const ranking = task.kind === "ranking";
  const scoring = task.kind === "scoring";
  const n = task.responses.length;
  ui.responses.dataset.kind = task.kind;
  ui.responses.dataset.count = String(n);
  ui.responsesHelp.textContent = scoring
    ? t("score.help", { max: task.rating_scale_max })
    : ranking
      ? t("rank.help", { n })
      : t("pair.help");

  const cards = task.responses.map((response, index) => {
    const name = t("response", { label: LETTERS[index] });
    const card = el("article", "response");
    card.id = `response-${index}`;
    card.dataset.index = String(index);
    card.setAttribute("aria-labelledby", `response-${index}-title`);

    if (ranking) {
      const slot = el("div", "rank-slot");
      slot.setAttribute("aria-hidden", "true");
      slot.append(el("span", "rank-slot-label", t("rank")), el("span", "rank-slot-value", "–"));
      card.append(slot);
    }

    const head = el("header", "response-head");
    const title = el("h3", "response-title");
    title.id = `response-${index}-title`;
    const letter = el("span", "letter", LETTERS[index]);
    letter.setAttribute("aria-hidden", "true");
    title.append(letter, el("span", "", name));
    head.append(title, el("span", "verdict-badge"), el("span", "bad-badge", t("badge.bad")));

    if (ranking) {
      const picker = el("div", "rank-picker");
      picker.setAttribute("role", "radiogroup");
      picker.setAttribute("aria-label", t("rank.of", { response: name }));
      for (let r = 1; r <= n; r += 1) {
        const button = el("button", "", String(r));
        button.setAttribute("type", "button");
        button.setAttribute("role", "radio");
        button.setAttribute("aria-checked", "false");
        button.dataset.rankValue = String(r);
        picker.append(button);
      }
      head.append(picker);
    }
    card.append(head);

    const body = el("div", "response-body md");
    body.innerHTML = response.html; // sanitised on the server
    card.append(body);
    if (task.rating_axes.length) card.append(ratingsBlock(task, index, name, t));
    if (task.allow_edits || task.safety_categories.length) card.append(cardFeedback(task, index, t));
    return card;
  });
  ui.responses.replaceChildren(...cards);
  renderScratch(ui, task, t);

  ui.pairChoices.hidden = ranking;
  ui.summary.hidden = !ranking;
  ui.legendPair.hidden = ranking;
  ui.legendRank.hidden = !ranking;
  ui.legendMaxRank.textContent = String(n);
  ui.verdictLabel.textContent = ranking ? t("label.order") : t("label.verdict");
  renderModeControls(ui, task);
}

/**
 * Which decision controls and key hints the task's kind and feedback kinds call for.
 * @param {Ui} ui
 * @param {Task} task
 */
function renderModeControls(ui, task) {
  const scoring = task.kind === "scoring";
  ui.verdictGroup.hidden = scoring;
  ui.strengthGroup.hidden = scoring;
  ui.saferGroup.hidden = !(task.dual_preference && task.kind === "pairwise");
  ui.legendScore.hidden = !scoring;
  ui.legendMaxScore.textContent = String(task.rating_scale_max);
  ui.legendSafer.hidden = ui.saferGroup.hidden;
  ui.legendEdit.hidden = !task.allow_edits;
  ui.legendHarm.hidden = !task.safety_categories.length;
  if (scoring) ui.legendPair.hidden = true;
  for (const hint of ui.bar.querySelectorAll(".legend-compare")) {
    if (hint instanceof HTMLElement) hint.hidden = scoring;
  }
}

/**
 * One response's rating rows: a radio group per axis, 1..max.
 * @param {Task} task
 * @param {number} index
 * @param {string} name
 * @param {Translate} t
 */
function ratingsBlock(task, index, name, t) {
  const max = task.rating_scale_max;
  const ratings = el("footer", "ratings");
  const head = el("div", "ratings-head");
  const hint = el("span", "ratings-hint");
  hint.append(
    fillNodes(t("ratings.hint", { max }), {
      r: kbd("R"),
      digits: kbd("1", "–", String(max)),
      updown: kbd("↑", "↓"),
      esc: kbd("Esc"),
    }),
  );
  head.append(el("strong", "", t("ratings")), hint);
  ratings.append(head);
  task.rating_axes.forEach((axis, axisIndex) => {
    const row = el("div", "likert");
    row.setAttribute("role", "radiogroup");
    row.dataset.axis = axis;
    const labelId = `rate-${index}-${axisIndex}`;
    row.setAttribute("aria-labelledby", labelId);
    const rowLabel = el("span", "likert-label", t(`axis.${axis}`, undefined, axis));
    rowLabel.id = labelId;
    rowLabel.append(el("span", "visually-hidden", ` — ${name}`));
    const scale = el("div", "likert-scale");
    for (let v = 1; v <= max; v += 1) {
      const option = el("label");
      const input = document.createElement("input");
      input.type = "radio";
      input.name = `rate-${task.id}-${index}-${axisIndex}`;
      input.value = String(v);
      if (v === 1) input.setAttribute("aria-description", t("scale.low"));
      if (v === max) input.setAttribute("aria-description", t("scale.high"));
      option.title = v === 1 ? `1 · ${t("scale.low")}` : v === max ? `${max} · ${t("scale.high")}` : String(v);
      option.append(input, String(v));
      scale.append(option);
    }
    row.append(rowLabel, scale);
    ratings.append(row);
  });
  ratings.append(el("div", "likert-ends", `1 = ${t("scale.low")} · ${max} = ${t("scale.high")}`));
  return ratings;
}
