// @ts-check
// Draws the page's state: which panel shows, the status messages, counters, the lease countdown, and the
// answer on the built cards (cards.js builds them).
/** @import { PageState, View } from "./state.js" */
/** @import { Translate } from "./i18n.js" */
/** @import { LeaseLevel } from "./lease.js" */
/** @import { Ui } from "./dom.js" */
import { el } from "./dom.js";
import { feedbackProblem } from "./feedback.js";
import { renderFeedback } from "./feedback-cards.js";
import { isReady, rankSummary, rankingGroups, strengthApplies, verdicts } from "./rules.js";

/**
 * Status messages in the live region; each lasts a few seconds (a problem longer).
 * @param {HTMLElement} region
 * @returns {(message: string, tone?: "info" | "good" | "warn" | "bad") => void}
 */
export function createAnnouncer(region) {
  let timer = 0;
  return (message, tone = "info") => {
    clearTimeout(timer);
    region.replaceChildren();
    if (!message) return;
    // A fresh node on the next frame so that screen readers announce a repeated message too.
    requestAnimationFrame(() => {
      const p = el("p", "", message);
      p.dataset.tone = tone;
      region.replaceChildren(p);
      timer = window.setTimeout(() => region.replaceChildren(), tone === "bad" ? 9000 : 4000);
    });
  };
}

/**
 * Which panel shows. The loading skeleton waits a moment, so that quick loads do not flash it.
 * @param {Ui} ui
 * @returns {(view: View) => void}
 */
export function createViewSwitch(ui) {
  let loadingTimer = 0;
  return (view) => {
    ui.root.dataset.state = view;
    if (view !== "task") delete ui.root.dataset.taskId;
    clearTimeout(loadingTimer);
    if (view === "loading") loadingTimer = window.setTimeout(() => (ui.loading.hidden = false), 150);
    else ui.loading.hidden = true;
    ui.empty.hidden = view !== "empty";
    ui.error.hidden = view !== "error";
    ui.workspace.hidden = view !== "task";
    ui.bar.hidden = view !== "task";
    ui.btnSkip.disabled = view !== "task";
    ui.lease.hidden = view !== "task";
    if (view !== "task") renderLease(ui, { text: "--:--", level: "ok" });
  };
}

/**
 * @param {Ui} ui
 * @param {{text: string, level: LeaseLevel}} shown
 */
export function renderLease(ui, { text, level }) {
  ui.leaseTime.textContent = text;
  ui.lease.dataset.level = level;
}

/**
 * The answer the server would not take, beside the next task or the empty panel: what happened, and the
 * rationale to copy (the whole draft is kept in storage and comes back with its task).
 * @param {Ui} ui
 * @param {PageState} state
 * @param {Translate} t
 */
export function renderKept(ui, state, t) {
  const { kept } = state;
  ui.kept.hidden = !kept || (state.view !== "task" && state.view !== "empty");
  if (!kept) return;
  ui.keptMessage.textContent = t(kept.reason === "full" ? "kept.full" : "kept.lost");
  ui.keptRationale.hidden = !kept.rationale;
  ui.keptText.value = kept.rationale;
}

/**
 * @param {Ui} ui
 * @param {PageState} state
 */
export function renderCounters(ui, state) {
  ui.done.textContent = state.done === null ? "–" : String(state.done);
  ui.session.textContent = String(state.session);
}

/**
 * @param {Ui} ui
 * @param {PageState} state
 * @param {Translate} t
 */
export function renderEmpty(ui, state, t) {
  ui.emptySession.textContent = state.session ? t("session.summary", { n: state.session }) : "";
  renderCounters(ui, state);
  ui.emptyTitle.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

/**
 * @param {Ui} ui
 * @param {string} detail
 */
export function renderError(ui, detail) {
  ui.errorDetail.textContent = detail;
  ui.errorTitle.focus({ preventScroll: true });
}

/**
 * A new task's entrance: the animation restarts, the page is at the top, the conversation's last message
 * in view and the focus on the page (so that keys work at once).
 * @param {Ui} ui
 */
export function enterTask(ui) {
  ui.workspace.classList.remove("entering");
  void ui.workspace.offsetWidth; // restart the entrance animation
  ui.workspace.classList.add("entering");
  window.scrollTo(0, 0);
  ui.main.focus({ preventScroll: true });
  requestAnimationFrame(() => (ui.conversation.scrollTop = ui.conversation.scrollHeight));
}

/**
 * Draws the answer onto the built task: badges, ranks, the highlight, ratings, pressed buttons, the
 * ranking summary and whether Submit is ready.
 * @param {Ui} ui
 * @param {PageState} state
 * @param {Translate} t
 */
export function renderAnswer(ui, state, t) {
  const { task, answer } = state;
  if (!task || !answer) return;
  const ranking = task.kind === "ranking";
  const ids = task.responses.map((r) => r.id);
  const badges = verdicts(task, answer);

  Array.from(ui.responses.children).forEach((node, index) => {
    if (!(node instanceof HTMLElement)) return;
    const id = ids[index];
    const verdict = badges[index];
    if (verdict) node.dataset.verdict = verdict;
    else delete node.dataset.verdict;
    const badge = node.querySelector(".verdict-badge");
    if (badge) badge.textContent = verdict ? t(`badge.${verdict}`) : "";
    if (answer.allBad) node.dataset.bad = "";
    else delete node.dataset.bad;

    if (ranking) {
      const rank = answer.ranks[id];
      if (rank) node.dataset.rank = String(rank);
      else delete node.dataset.rank;
      const slot = node.querySelector(".rank-slot-value");
      if (slot) slot.textContent = rank ? String(rank) : "–";
      for (const button of node.querySelectorAll("[data-rank-value]")) {
        button.setAttribute("aria-checked", String(Number(button.getAttribute("data-rank-value")) === rank));
      }
    }
    node.classList.toggle("is-current", state.cursorShown && index === state.cursor);

    for (const row of node.querySelectorAll(".likert")) {
      const score = answer.ratings[id]?.[row.getAttribute("data-axis") || ""];
      for (const input of row.querySelectorAll("input")) input.checked = Number(input.value) === score;
    }
  });

  for (const button of ui.pairChoices.querySelectorAll("[data-choice]")) {
    button.setAttribute("aria-pressed", String(answer.choice === button.getAttribute("data-choice")));
  }
  ui.allBad.setAttribute("aria-pressed", String(answer.allBad));
  for (const button of ui.strengthGroup.querySelectorAll("[data-strength]")) {
    button.setAttribute("aria-pressed", String(answer.strength === button.getAttribute("data-strength")));
  }
  if (strengthApplies(rankingGroups(task, answer))) delete ui.strengthGroup.dataset.disabled;
  else ui.strengthGroup.dataset.disabled = "";

  if (ranking) renderSummary(ui, rankSummary(task, answer), t);
  if (hasTaskState(state)) renderFeedback(ui, state, t);
  const ready = isReady(task, answer) && !feedbackProblem(task, answer);
  ui.submit.setAttribute("aria-disabled", String(!ready));
}

/**
 * @param {PageState} state
 * @returns {state is import("./state.js").TaskState}
 */
function hasTaskState(state) {
  return state.task !== null && state.answer !== null;
}

/**
 * @param {Ui} ui
 * @param {ReturnType<typeof rankSummary>} summary
 * @param {Translate} t
 */
function renderSummary(ui, { levels, ranked, total, complete }, t) {
  /** @type {HTMLElement[]} */
  const parts = [];
  if (!ranked) {
    const touch = window.matchMedia("(pointer: coarse)").matches;
    parts.push(el("span", "pending", t(touch ? "rank.summary.touch" : "rank.summary.empty", { n: total })));
  } else {
    levels.forEach((group, i) => {
      if (i) parts.push(el("span", "sep", "›"));
      group.forEach((letter, j) => {
        if (j) parts.push(el("span", "sep", "="));
        parts.push(el("span", "", letter));
      });
    });
    if (!complete) parts.push(el("span", "pending", ` · ${t("rank.progress", { k: ranked, n: total })}`));
  }
  ui.summary.replaceChildren(...parts);
}
