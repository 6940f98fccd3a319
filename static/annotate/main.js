// @ts-check
// The annotate page: one comparison at a time, driven by the REST API, keyboard first. This module wires
// the others together. It owns the page's one state (changed by state.js, read by rules.js: both pure),
// the lease (lease.js) and the activity clock, and hands them to the pure functions; cards.js and
// render.js draw, api.js talks to the server, drafts.js keeps unfinished answers across reloads,
// keyboard.js and controls.js say what a key and a click mean.
/** @import { KeyAction } from "./keyboard.js" */
/** @import { PageState, TaskState, View } from "./state.js" */
/** @import { Strength, Task } from "./types.js" */
import { clockSkew, createApi, newToken, retryDelay } from "./api.js";
import { renderTask } from "./cards.js";
import { bindControls } from "./controls.js";
import { findUi } from "./dom.js";
import { createDrafts, createSessionCount } from "./drafts.js";
import {
  SCRATCH, chooseSafer, feedbackProblem, originalOf, setCategory, setEdit, setSafe, setSeverity,
} from "./feedback.js";
import { bindFeedback, focusEdit, focusHarm } from "./feedback-cards.js";
import {
  focusRatingRow, leaveField, ratingRowOf, ratingRows, scrollToCard, startRating, targetKind,
} from "./focus.js";
import { renderGoldFeedback } from "./gold.js";
import { readStrings, translator } from "./i18n.js";
import { keyAction } from "./keyboard.js";
import {
  beatDone, beatOnActivity, beatOnReturn, beatSent, extendLease, noLease, takeLease, tick,
} from "./lease.js";
import {
  createAnnouncer, createViewSwitch, enterTask, renderAnswer, renderCounters, renderEmpty, renderError,
  renderKept, renderLease,
} from "./render.js";
import { hasWork, isReady, strengthIgnored, submissionBody } from "./rules.js";
import {
  ACTIVE_WINDOW_MS, activeTime, addTime, choose, countSubmission, dismissKept, draftOf, hasTask,
  initialState, keepAnswer, moveCursor, pickStrength, rank, rate, setSubmitting, setView, showTask,
  toggleAllBad, withoutTask, writeRationale,
} from "./state.js";

/**
 * @param {"localStorage" | "sessionStorage"} name
 * @returns {Storage | null}
 */
function storage(name) {
  try {
    return window[name]; // the getter itself throws where storage is disabled
  } catch {
    return null;
  }
}

/** @param {Document} doc */
function start(doc) {
  const ui = findUi(doc);
  const t = translator(readStrings(ui.i18n));
  const data = ui.root.dataset;
  const user = data.user || "";
  const clock = { skewMs: 0, lastActivity: Date.now(), countedUntil: Date.now() };
  const api = createApi(
    {
      next: data.nextUrl || "",
      annotations: data.annotationsUrl || "",
      skip: data.skipUrl || "",
      heartbeat: data.heartbeatUrl || "",
    },
    {
      fetch: (input, init) => window.fetch(input, init),
      cookie: () => doc.cookie,
      onDate: (serverDate) => (clock.skewMs = clockSkew(serverDate, Date.now(), clock.skewMs)),
    },
  );
  const drafts = createDrafts(storage("localStorage"), user);
  const sessionCount = createSessionCount(storage("sessionStorage"), user, data.slug || "");
  const announce = createAnnouncer(ui.status);
  const viewSwitch = createViewSwitch(ui);
  /** @param {View} view */
  const switchView = (view) => {
    viewSwitch(view);
    renderKept(ui, state, t);
  };

  /** @type {PageState} the page's one state: replaced, never changed in place */
  let state = initialState(sessionCount.load());
  let lease = noLease();
  let draftTimer = 0;
  let retryTimer = 0;

  // ---------------------------------------------------------------- time on task, drafts

  /** Time on task since the last count (0 while hidden or idle); the count restarts from now. */
  function timeStep() {
    const now = Date.now();
    const visible = doc.visibilityState === "visible";
    const ms = activeTime({ now, countedUntil: clock.countedUntil, visible, lastActivity: clock.lastActivity });
    clock.countedUntil = now;
    return ms;
  }

  function fold() {
    state = addTime(state, timeStep());
  }

  function saveDraft() {
    if (!hasTask(state)) return;
    fold();
    if (hasTask(state)) drafts.save(state.task.id, draftOf(state, Date.now()));
  }

  function saveDraftSoon() {
    clearTimeout(draftTimer);
    draftTimer = window.setTimeout(saveDraft, 250);
  }

  /** @param {TaskState} next */
  function changed(next) {
    state = next;
    renderAnswer(ui, state, t);
    saveDraft();
  }

  // ---------------------------------------------------------------- views

  /** @param {View} view */
  function showView(view) {
    state = setView(state, view);
    switchView(view);
  }

  /** @param {string} [message] */
  function showEmpty(message) {
    state = withoutTask(state, "empty");
    switchView("empty");
    renderEmpty(ui, state, t);
    if (message) announce(message, "good");
  }

  /** @param {string} detail */
  function showError(detail) {
    state = withoutTask(state, "error");
    switchView("error");
    renderError(ui, detail);
  }

  /**
   * @param {Task} task
   * @param {string} [message]
   * @param {"info" | "good" | "warn"} [tone]
   */
  function show(task, message, tone = "good") {
    const shown = showTask(state, task, drafts.load(task.id), newToken(crypto));
    state = shown.state;
    clock.countedUntil = Date.now();
    lease = takeLease(lease, task.lease_expires_at, clock.skewMs, Date.now());
    renderTask(ui, shown.state, t);
    switchView("task");
    renderAnswer(ui, state, t);
    renderCounters(ui, state);
    tickLease();
    enterTask(ui);
    if (shown.restored) announce(t("restored"), "info");
    else if (message) announce(message, tone);
  }

  // ---------------------------------------------------------------- server

  /**
   * @param {string} [message]
   * @param {"info" | "good" | "warn"} [tone]
   */
  async function loadNext(message, tone) {
    showView("loading");
    try {
      const reply = await api.nextTask();
      if (reply.status === 200 && reply.body) show(reply.body, message, tone);
      else if (reply.status === 204) showEmpty(message);
      else if (reply.status === 401 || reply.status === 403) showError(t("error.signed_out"));
      else if (reply.status === 503) {
        const seconds = retryDelay(reply.retryAfter);
        showError(t("error.unavailable", { seconds }));
        setTimeout(() => loadNext(message, tone), seconds * 1000);
      } else showError(reply.error?.detail || t("error.server", { status: reply.status }));
    } catch {
      showError(t("error.network"));
    }
  }

  async function submit() {
    if (!hasTask(state) || state.submitting) return;
    clearTimeout(retryTimer); // pressing Enter during a wait retries at once
    retryTimer = 0;
    const current = state.task;
    if (!isReady(current, state.answer)) {
      const need = { scoring: "need.scoring", ranking: "need.ranking", pairwise: "need.pairwise" }[current.kind];
      announce(t(need), "warn");
      return;
    }
    const problem = feedbackProblem(current, state.answer);
    if (problem) {
      announce(t(problem), "warn");
      return;
    }
    const ready = addTime(setSubmitting(state, true), timeStep());
    state = ready;
    ui.submit.setAttribute("aria-busy", "true");
    const slow = setTimeout(() => announce(t("saving"), "info"), 500);
    try {
      const reply = await api.submit(current.id, submissionBody(ready.task, ready.answer));
      clearTimeout(slow);
      const { status, error } = reply;
      if (status === 200 || status === 201) {
        drafts.clear(current.id);
        renderGoldFeedback(doc, current, reply.body?.gold, t); // gold items with the project's feedback on
        const next = reply.body?.next ?? null;
        state = countSubmission(state, { created: status === 201, next: Boolean(next) });
        sessionCount.save(state.session);
        if (next) show(next, t("saved.next"));
        else showEmpty(t("saved.last"));
      } else if (status === 409 || status === 404) {
        await lost(current, error?.code);
      } else if (status === 401 || status === 403) {
        announce(t("error.signed_out"), "bad");
      } else if (status === 400 && error) {
        announce(error.field ? `${error.field}: ${error.detail}` : String(error.detail || status), "bad");
      } else if (status === 503) {
        // The database is restarting: the same answer (same client_token) goes again after the delay, so a
        // submission that did land before the outage is not counted twice.
        const seconds = retryDelay(reply.retryAfter);
        announce(t("error.unavailable", { seconds }), "warn");
        retryTimer = setTimeout(() => {
          retryTimer = 0;
          if (hasTask(state) && state.task.id === current.id) submit();
        }, seconds * 1000);
      } else {
        announce(t("error.server", { status }), "bad");
      }
    } catch {
      clearTimeout(slow);
      announce(t("error.network"), "bad");
    } finally {
      state = setSubmitting(state, false);
      ui.submit.removeAttribute("aria-busy");
    }
  }

  /**
   * The server will not take an answer to `current` any more (409/404: the lease went to someone else,
   * the task is full, or gone). Work on it stays: its draft is left in storage (it comes back with the
   * task) and the page shows what was typed beside the next task. Only an answer with nothing in it, or
   * a task already submitted or skipped (in another tab), loses its draft. When the page has moved on
   * from `current` meanwhile (a heartbeat found it lost first), that was already done.
   * @param {Task} current
   * @param {string | undefined} code the error body's code
   */
  async function lost(current, code) {
    if (state.task !== current) return;
    const reason = code === "task_full" ? "full" : "lost";
    const settled = code === "task_submitted" || code === "task_skipped";
    if (hasTask(state) && hasWork(state.answer) && !settled) {
      saveDraft();
      if (hasTask(state)) state = keepAnswer(state, reason);
    } else {
      drafts.clear(current.id);
    }
    await loadNext(t(reason === "full" ? "lease.full" : "lease.lost"), "warn");
  }

  async function copyKept() {
    try {
      await navigator.clipboard.writeText(ui.keptText.value);
      announce(t("kept.copied"), "good");
    } catch {
      // No clipboard here (plain http on a LAN, a browser that says no): select it for Ctrl+C.
      ui.keptText.focus();
      ui.keptText.select();
      announce(t("kept.select"), "info");
    }
  }

  function openSkip() {
    if (!state.task || ui.skip.open) return;
    ui.skipReason.value = "";
    ui.skip.returnValue = "";
    ui.skip.showModal();
    ui.skipReason.focus();
  }

  /** @param {string} reason */
  async function skip(reason) {
    if (!state.task) return;
    const current = state.task;
    try {
      const { status } = await api.skip(current.id, reason);
      if (status === 204 || status === 409 || status === 404) {
        drafts.clear(current.id);
        await loadNext(t("skipped"), "info");
      } else if (status === 401 || status === 403) {
        announce(t("error.signed_out"), "bad");
      } else {
        announce(t("error.server", { status }), "bad");
      }
    } catch {
      announce(t("error.network"), "bad");
    }
  }

  // ---------------------------------------------------------------- lease: countdown and heartbeat

  function tickLease() {
    if (state.view !== "task") return;
    fold();
    const now = Date.now();
    const result = tick(lease, { now, lastActivity: clock.lastActivity, activeWindowMs: ACTIVE_WINDOW_MS });
    lease = result.lease;
    if (!result.shown) return;
    renderLease(ui, result.shown);
    for (const notice of result.notices) announce(t(notice === "low" ? "lease.low" : "lease.expired"), "warn");
    if (result.beat) heartbeat();
  }

  async function heartbeat() {
    if (!state.task || lease.beating) return;
    lease = beatSent(lease, Date.now());
    const current = state.task;
    try {
      const reply = await api.heartbeat(current.id);
      if (state.task !== current) return;
      if (reply.status === 200 && reply.body) {
        lease = extendLease(lease, reply.body.lease_expires_at, clock.skewMs, Date.now());
        tickLease();
      } else if (reply.status === 409 || reply.status === 404) {
        await lost(current, reply.error?.code);
      }
    } catch {
      // Offline for a moment: the next beat tries again, the countdown keeps running.
    } finally {
      lease = beatDone(lease);
    }
  }

  function noteActivity() {
    const now = Date.now();
    const due = beatOnActivity(lease, { now, lastActivity: clock.lastActivity });
    clock.lastActivity = now;
    if (state.view === "task" && due) heartbeat();
  }

  // ---------------------------------------------------------------- keyboard

  function toggleGuidelines() {
    if (ui.guidelines.open) ui.guidelines.close();
    else ui.guidelines.showModal();
  }

  /** @param {number} index */
  function moveTo(index) {
    if (!state.task) return;
    state = moveCursor(state, index);
    renderAnswer(ui, state, t);
    scrollToCard(ui, state.cursor);
  }

  /** @param {Strength} strength */
  function setStrength(strength) {
    if (!hasTask(state)) return;
    const next = pickStrength(state, strength);
    if (strengthIgnored(next.task, next.answer)) announce(t("strength.na"), "warn");
    changed(next);
  }

  /** @param {string} key a response id, or SCRATCH: open its rewrite (with the original to start from) */
  function openEdit(key) {
    if (!hasTask(state) || !state.task.allow_edits) return;
    if (state.answer.edits[key] === undefined) changed(setEdit(state, key, originalOf(state.task, key)));
    focusEdit(ui, key);
  }

  /** A scoring task's digit: the score of its first unrated axis. @param {number} score */
  function scoreNext(score) {
    if (!hasTask(state)) return;
    const scores = state.answer.ratings[state.task.responses[0].id] || {};
    const axis = state.task.rating_axes.find((name) => !scores[name]);
    if (axis) changed(rate(state, 0, axis, score));
  }

  /**
   * @param {KeyAction} action
   * @param {EventTarget | null} target
   */
  function perform(action, target) {
    if (action.type === "toggle-guidelines") toggleGuidelines();
    else if (action.type === "close-guidelines") ui.guidelines.close();
    else if (action.type === "leave") leaveField(ui);
    else if (action.type === "submit") submit();
    else if (action.type === "skip") openSkip();
    else if (action.type === "rationale") ui.rationale.focus();
    else if (action.type === "strength") setStrength(action.strength);
    else if (action.type === "cursor") moveTo(state.cursor + action.delta);
    else if (!hasTask(state)) return;
    else if (action.type === "choose") changed(choose(state, action.choice));
    else if (action.type === "all-bad") changed(toggleAllBad(state));
    else if (action.type === "score") scoreNext(action.score);
    else if (action.type === "edit") openEdit(state.task.responses[state.cursor].id);
    else if (action.type === "edit-scratch") openEdit(SCRATCH);
    else if (action.type === "harm") focusHarm(ui, state.cursor);
    else if (action.type === "safer") changed(chooseSafer(state, action.choice));
    else if (action.type === "rank") {
      const before = state.cursor;
      changed(rank(state, state.cursor, action.rank, { advance: action.rank > 0 }));
      if (state.cursor !== before) scrollToCard(ui, state.cursor);
    } else if (action.type === "start-rating") {
      state = moveCursor(state, state.cursor);
      if (hasTask(state)) startRating(ui, state);
      renderAnswer(ui, state, t);
    } else if (action.type === "rate" || action.type === "unrate" || action.type === "rating-row") {
      const at = target instanceof Element ? ratingRowOf(target) : null;
      if (!at) return;
      const rows = ratingRows(ui);
      const i = rows.indexOf(at.row);
      if (action.type === "rating-row") {
        const to = i + action.delta;
        if (to >= 0 && to < rows.length) focusRatingRow(rows[to]);
        return;
      }
      changed(rate(state, at.index, at.axis, action.type === "rate" ? action.score : 0));
      if (action.type === "unrate") return;
      if (i < rows.length - 1) focusRatingRow(rows[i + 1]);
      else leaveField(ui);
    }
  }

  /** @param {KeyboardEvent} event */
  function onKeyDown(event) {
    const action = keyAction(
      {
        view: state.view,
        kind: state.task?.kind ?? null,
        responses: state.task?.responses.length ?? 0,
        scaleMax: state.task?.rating_scale_max ?? 0,
        guidelinesOpen: ui.guidelines.open,
        skipOpen: ui.skip.open,
        target: targetKind(ui, event.target),
        focusOnMain: doc.activeElement === ui.main,
        edits: Boolean(state.task?.allow_edits),
        harm: Boolean(state.task?.safety_categories?.length),
        safer: Boolean(state.task?.dual_preference && state.task.kind === "pairwise"),
      },
      event,
    );
    if (!action) return;
    if (!("keepDefault" in action && action.keepDefault)) event.preventDefault();
    perform(action, event.target);
  }

  // ---------------------------------------------------------------- wiring

  bindControls(ui, doc, {
    keydown: onKeyDown,
    activity: noteActivity,
    scroll: () => (clock.lastActivity = Date.now()),
    choose: (choice) => {
      if (hasTask(state)) changed(choose(state, choice, { toggle: true }));
    },
    allBad: () => {
      if (hasTask(state)) changed(toggleAllBad(state));
    },
    strength: setStrength,
    submit: () => submit(),
    rank: (index, value) => {
      if (hasTask(state)) changed(rank(moveCursor(state, index), index, value, { toggle: true }));
    },
    rate: (index, axis, score) => {
      if (hasTask(state)) changed(rate(state, index, axis, score));
    },
    focusCard: (index) => {
      if (!state.task || (index === state.cursor && state.cursorShown)) return;
      state = moveCursor(state, index);
      renderAnswer(ui, state, t);
    },
    rationale: (text) => {
      if (!hasTask(state)) return;
      state = writeRationale(state, text);
      saveDraftSoon();
    },
    toggleGuidelines,
    openSkip,
    skip: (reason) => skip(reason),
    reload: () => loadNext(),
    copyKept: () => copyKept(),
    dismissKept: () => {
      state = dismissKept(state);
      renderKept(ui, state, t);
      if (state.view === "task") ui.main.focus({ preventScroll: true });
    },
    away: saveDraft,
    back: () => {
      clock.countedUntil = Date.now();
      if (state.view === "task" && beatOnReturn(lease, Date.now())) heartbeat();
    },
  });

  bindFeedback(ui, {
    openEdit,
    edit: (key, text) => {
      if (!hasTask(state)) return;
      state = setEdit(state, key, text);
      renderAnswer(ui, state, t);
      saveDraftSoon();
    },
    discardEdit: (key) => {
      if (hasTask(state)) changed(setEdit(state, key, null));
    },
    safe: (index, safe) => {
      if (hasTask(state)) changed(setSafe(state, index, safe));
    },
    category: (index, slug, on) => {
      if (hasTask(state)) changed(setCategory(state, index, slug, on));
    },
    severity: (index, severity) => {
      if (hasTask(state)) changed(setSeverity(state, index, severity));
    },
    safer: (choice) => {
      if (hasTask(state)) changed(chooseSafer(state, choice));
    },
  });

  setInterval(tickLease, 1000);
  drafts.prune(Date.now());
  renderCounters(ui, state);
  showView("loading");
  loadNext();
}

if (document.getElementById("annotator")) start(document);
