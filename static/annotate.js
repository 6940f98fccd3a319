// The annotate page: one comparison at a time, driven by the REST API, keyboard first.
//
// Safety: the `html` fields of the API are sanitised on the server (markdown rendered with raw HTML off,
// then an allowlist); they are the only thing inserted with innerHTML. Everything else goes in as text.
(() => {
  "use strict";

  const root = document.getElementById("annotator");
  if (!root) return;

  const $ = (id) => document.getElementById(id);
  const LETTERS = "ABCDEF";
  const ROLES = new Set(["system", "user", "assistant"]);
  const HEARTBEAT_MS = 60_000;
  const ACTIVE_WINDOW_MS = 180_000; // reading without touching anything still counts as working
  const LEASE_LOW_S = 120;
  const DRAFT_TTL_MS = 14 * 24 * 3600 * 1000;
  const MAX_TIME_MS = 24 * 3600 * 1000;

  const cfg = {
    slug: root.dataset.slug,
    user: root.dataset.user,
    nextUrl: root.dataset.nextUrl,
    taskUrl: (name, id) => root.dataset[name].replace("/0/", `/${encodeURIComponent(id)}/`),
  };

  // ---------------------------------------------------------------- strings (translated in the template)

  const STRINGS = {};
  for (const node of $("i18n").content.querySelectorAll("[data-k]")) {
    STRINGS[node.dataset.k] = node.textContent.trim();
  }

  function t(key, vars) {
    let text = STRINGS[key] ?? key;
    if (vars) for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
    return text;
  }

  // A translated template whose {placeholders} become nodes (key caps), so translators can move them.
  function fillNodes(template, nodes) {
    const out = document.createDocumentFragment();
    for (const [i, part] of template.split(/\{(\w+)\}/).entries()) {
      if (i % 2 === 0) {
        if (part) out.append(part);
      } else {
        out.append(nodes[part] ? nodes[part]() : `{${part}}`);
      }
    }
    return out;
  }

  // Key caps for fillNodes; a "–" between two keys is a range (1–7).
  function kbd(...keys) {
    return () => {
      const frag = document.createDocumentFragment();
      for (const key of keys) {
        if (key === "–") frag.append("–");
        else frag.append(el("kbd", "", key));
      }
      return frag;
    };
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function axisLabel(axis) {
    return STRINGS[`axis.${axis}`] ?? axis;
  }

  function responseName(index) {
    return t("response", { label: LETTERS[index] });
  }

  // ---------------------------------------------------------------- elements

  const ui = {
    main: $("main"),
    workspace: $("workspace"),
    conversation: $("conversation"),
    turnCount: $("turn-count"),
    responses: $("responses"),
    responsesHelp: $("responses-help"),
    rationale: $("rationale"),
    bar: $("decision-bar"),
    pairChoices: $("pairwise-choices"),
    verdictLabel: $("verdict-label"),
    summary: $("ranking-summary"),
    allBad: $("btn-all-bad"),
    strengthGroup: $("strength-group"),
    submit: $("btn-submit"),
    legendPair: $("legend-pairwise"),
    legendRank: $("legend-ranking"),
    legendMaxRank: $("legend-max-rank"),
    status: $("status"),
    done: $("done-count"),
    session: $("session-count"),
    lease: $("lease"),
    leaseTime: $("lease-time"),
    btnGuidelines: $("btn-guidelines"),
    btnSkip: $("btn-skip"),
    guidelines: $("guidelines-dialog"),
    skip: $("skip-dialog"),
    skipReason: $("skip-reason"),
    loading: $("state-loading"),
    empty: $("state-empty"),
    emptyTitle: $("empty-title"),
    emptySession: $("empty-session"),
    error: $("state-error"),
    errorTitle: $("error-title"),
    errorDetail: $("error-detail"),
  };

  // ---------------------------------------------------------------- state

  let view = "loading";
  let task = null;
  let answer = null;
  let cursor = 0;
  let cursorShown = false;
  let submitting = false;
  let skewMs = 0; // server clock minus ours, from the Date header
  let leaseEndsAt = 0;
  let leaseWarned = false;
  let leaseExpiredNoted = false;
  let lastBeat = 0;
  let beating = false;
  let lastActivity = Date.now();
  let done = null; // unknown until the first task arrives

  const sessionKey = `prefer:session:${cfg.user}:${cfg.slug}`;
  let sessionCount = Number(sessionStorage.getItem(sessionKey)) || 0;

  // ---------------------------------------------------------------- server

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date)) {
      const skew = date - Date.now();
      skewMs = Math.abs(skew) > 2000 ? skew : 0; // the header has one-second resolution
    }
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    return { status: response.status, data };
  }

  function newToken() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // ---------------------------------------------------------------- drafts (survive a reload)

  const draftPrefix = `prefer:draft:${cfg.user}:`;
  const draftKey = (taskId) => `${draftPrefix}${taskId}`;

  function saveDraft() {
    if (!task || !answer) return;
    foldElapsed();
    try {
      localStorage.setItem(draftKey(task.id), JSON.stringify({ ...answer, cursor, savedAt: Date.now() }));
    } catch {
      // Storage full or disabled: the answer still lives in the page.
    }
  }

  function loadDraft(taskId) {
    try {
      const raw = localStorage.getItem(draftKey(taskId));
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  }

  function clearDraft(taskId) {
    try {
      localStorage.removeItem(draftKey(taskId));
    } catch {
      // nothing to do
    }
  }

  function pruneDrafts() {
    try {
      for (let i = localStorage.length - 1; i >= 0; i -= 1) {
        const key = localStorage.key(i);
        if (!key || !key.startsWith("prefer:draft:")) continue;
        const savedAt = JSON.parse(localStorage.getItem(key) || "{}").savedAt || 0;
        if (Date.now() - savedAt > DRAFT_TTL_MS) localStorage.removeItem(key);
      }
    } catch {
      // nothing to do
    }
  }

  let draftTimer = 0;
  function saveDraftSoon() {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, 250);
  }

  // Time on task counts while the tab is visible and the annotator has been active recently.
  let countedUntil = Date.now();
  function foldElapsed() {
    const now = Date.now();
    if (answer && document.visibilityState === "visible" && now - lastActivity < ACTIVE_WINDOW_MS) {
      answer.elapsedMs = Math.min(MAX_TIME_MS, answer.elapsedMs + Math.max(0, Math.min(now - countedUntil, 5000)));
    }
    countedUntil = now;
  }

  function freshAnswer() {
    return {
      choice: null,
      ranks: {},
      allBad: false,
      strength: "",
      ratings: {},
      rationale: "",
      clientToken: newToken(),
      elapsedMs: 0,
    };
  }

  // Only keep what still fits the task (ids and axes come from the server).
  function restoreAnswer(draft, current) {
    const ids = new Set(current.responses.map((r) => r.id));
    const axes = new Set(current.rating_axes);
    const max = current.rating_scale_max;
    const restored = freshAnswer();
    if (typeof draft.clientToken === "string" && draft.clientToken) restored.clientToken = draft.clientToken;
    if (["a", "b", "tie"].includes(draft.choice)) restored.choice = draft.choice;
    for (const [id, rank] of Object.entries(draft.ranks || {})) {
      if (ids.has(id) && Number.isInteger(rank) && rank >= 1 && rank <= current.responses.length) {
        restored.ranks[id] = rank;
      }
    }
    restored.allBad = draft.allBad === true;
    if (["slight", "clear", "strong"].includes(draft.strength)) restored.strength = draft.strength;
    for (const [id, scores] of Object.entries(draft.ratings || {})) {
      if (!ids.has(id) || typeof scores !== "object" || !scores) continue;
      for (const [axis, score] of Object.entries(scores)) {
        if (axes.has(axis) && Number.isInteger(score) && score >= 1 && score <= max) {
          (restored.ratings[id] ||= {})[axis] = score;
        }
      }
    }
    if (typeof draft.rationale === "string") restored.rationale = draft.rationale;
    if (Number.isInteger(draft.elapsedMs)) restored.elapsedMs = Math.min(MAX_TIME_MS, Math.max(0, draft.elapsedMs));
    const touched =
      restored.choice || restored.allBad || restored.strength || restored.rationale ||
      Object.keys(restored.ranks).length || Object.keys(restored.ratings).length;
    return { answer: restored, touched: Boolean(touched), cursor: Number.isInteger(draft.cursor) ? draft.cursor : 0 };
  }

  // ---------------------------------------------------------------- status messages

  let statusTimer = 0;
  function announce(message, tone = "info") {
    clearTimeout(statusTimer);
    ui.status.replaceChildren();
    if (!message) return;
    // A fresh node on the next frame so that screen readers announce a repeated message too.
    requestAnimationFrame(() => {
      const p = el("p", "", message);
      p.dataset.tone = tone;
      ui.status.replaceChildren(p);
      statusTimer = setTimeout(() => ui.status.replaceChildren(), tone === "bad" ? 9000 : 4000);
    });
  }

  // ---------------------------------------------------------------- views

  let loadingTimer = 0;
  function setView(name) {
    view = name;
    root.dataset.state = name;
    if (name !== "task") delete root.dataset.taskId;
    clearTimeout(loadingTimer);
    // Do not flash a skeleton for loads that finish quickly.
    if (name === "loading") loadingTimer = setTimeout(() => (ui.loading.hidden = false), 150);
    else ui.loading.hidden = true;
    ui.empty.hidden = name !== "empty";
    ui.error.hidden = name !== "error";
    ui.workspace.hidden = name !== "task";
    ui.bar.hidden = name !== "task";
    ui.btnSkip.disabled = name !== "task";
    ui.lease.hidden = name !== "task";
    if (name !== "task") {
      ui.leaseTime.textContent = "--:--";
      ui.lease.dataset.level = "ok";
    }
  }

  function renderCounters() {
    ui.done.textContent = done === null ? "–" : String(done);
    ui.session.textContent = String(sessionCount);
  }

  function showEmpty(message) {
    task = null;
    answer = null;
    setView("empty");
    ui.emptySession.textContent = sessionCount ? t("session.summary", { n: sessionCount }) : "";
    renderCounters();
    ui.emptyTitle.focus({ preventScroll: true });
    window.scrollTo(0, 0);
    if (message) announce(message, "good");
  }

  function showError(detail) {
    task = null;
    answer = null;
    setView("error");
    ui.errorDetail.textContent = detail;
    ui.errorTitle.focus({ preventScroll: true });
  }

  function showTask(next, message, tone = "good") {
    task = next;
    root.dataset.taskId = String(next.id);
    done = Number.isInteger(next.done) ? next.done : done;
    const draft = loadDraft(next.id);
    let restored = null;
    if (draft) restored = restoreAnswer(draft, next);
    answer = restored ? restored.answer : freshAnswer();
    cursor = restored ? Math.min(Math.max(restored.cursor, 0), next.responses.length - 1) : 0;
    cursorShown = next.kind === "ranking";
    countedUntil = Date.now();
    leaseWarned = false;
    leaseExpiredNoted = false;
    setLease(next.lease_expires_at);
    lastBeat = Date.now();

    renderConversation(next.prompt.messages);
    renderResponses(next);
    ui.rationale.value = answer.rationale;
    setView("task");
    renderAnswer();
    renderCounters();
    tickLease();

    ui.workspace.classList.remove("entering");
    void ui.workspace.offsetWidth; // restart the entrance animation
    ui.workspace.classList.add("entering");
    window.scrollTo(0, 0);
    ui.main.focus({ preventScroll: true });
    requestAnimationFrame(() => (ui.conversation.scrollTop = ui.conversation.scrollHeight));

    if (restored && restored.touched) announce(t("restored"), "info");
    else if (message) announce(message, tone);
  }

  function renderConversation(messages) {
    const nodes = [];
    let lastUser = -1;
    messages.forEach((m, i) => {
      if (m.role === "user") lastUser = i;
    });
    messages.forEach((message, i) => {
      const role = ROLES.has(message.role) ? message.role : "assistant";
      const wrap = el("div", `msg msg-${role}`);
      if (i === lastUser && messages.length > 1) wrap.classList.add("msg-last");
      wrap.append(el("div", "msg-role", t(`role.${role}`)));
      const bubble = el("div", "msg-bubble md");
      bubble.innerHTML = message.html; // sanitised on the server
      wrap.append(bubble);
      nodes.push(wrap);
    });
    ui.conversation.replaceChildren(...nodes);
    ui.conversation.classList.toggle("is-single", messages.length === 1);
    ui.turnCount.textContent = messages.length > 1 ? t("turns", { n: messages.length }) : "";
  }

  function renderResponses(current) {
    const ranking = current.kind === "ranking";
    const n = current.responses.length;
    const max = current.rating_scale_max;
    ui.responses.dataset.kind = current.kind;
    ui.responses.dataset.count = String(n);
    ui.responsesHelp.textContent = ranking ? t("rank.help", { n }) : t("pair.help");

    const cards = current.responses.map((response, index) => {
      const name = responseName(index);
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
          button.type = "button";
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

      if (current.rating_axes.length) {
        const ratings = el("footer", "ratings");
        const ratingsHead = el("div", "ratings-head");
        const label = el("strong", "", t("ratings"));
        const hint = el("span", "ratings-hint");
        hint.append(
          fillNodes(t("ratings.hint", { max }), {
            r: kbd("R"),
            digits: kbd("1", "–", String(max)),
            updown: kbd("↑", "↓"),
            esc: kbd("Esc"),
          }),
        );
        ratingsHead.append(label, hint);
        ratings.append(ratingsHead);
        current.rating_axes.forEach((axis, axisIndex) => {
          const row = el("div", "likert");
          row.setAttribute("role", "radiogroup");
          row.dataset.axis = axis;
          const labelId = `rate-${index}-${axisIndex}`;
          row.setAttribute("aria-labelledby", labelId);
          const rowLabel = el("span", "likert-label", axisLabel(axis));
          rowLabel.id = labelId;
          rowLabel.append(el("span", "visually-hidden", ` — ${name}`));
          const scale = el("div", "likert-scale");
          for (let v = 1; v <= max; v += 1) {
            const option = el("label");
            const input = el("input");
            input.type = "radio";
            input.name = `rate-${current.id}-${index}-${axisIndex}`;
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
        const ends = el("div", "likert-ends", `1 = ${t("scale.low")} · ${max} = ${t("scale.high")}`);
        ratings.append(ends);
        card.append(ratings);
      }
      return card;
    });
    ui.responses.replaceChildren(...cards);

    ui.pairChoices.hidden = ranking;
    ui.summary.hidden = !ranking;
    ui.legendPair.hidden = ranking;
    ui.legendRank.hidden = !ranking;
    ui.legendMaxRank.textContent = String(n);
    ui.verdictLabel.textContent = ranking ? t("label.order") : t("label.verdict");
  }

  // ---------------------------------------------------------------- the answer

  function rankingGroups() {
    if (!task) return null;
    const ids = task.responses.map((r) => r.id);
    if (task.kind === "pairwise") {
      const [a, b] = ids;
      if (answer.choice === "a") return [[a], [b]];
      if (answer.choice === "b") return [[b], [a]];
      if (answer.choice === "tie") return [[a, b]];
      return null;
    }
    if (ids.some((id) => !answer.ranks[id])) return null;
    const levels = [...new Set(ids.map((id) => answer.ranks[id]))].sort((x, y) => x - y);
    return levels.map((level) => ids.filter((id) => answer.ranks[id] === level));
  }

  function strengthApplies(groups) {
    return Boolean(groups && groups.length > 1 && groups[0].length === 1);
  }

  function isReady() {
    return Boolean(answer.allBad || rankingGroups());
  }

  function payload() {
    const groups = rankingGroups();
    const ids = new Set(task.responses.map((r) => r.id));
    const axes = new Set(task.rating_axes);
    const ratings = {};
    for (const [id, scores] of Object.entries(answer.ratings)) {
      if (!ids.has(id)) continue;
      const clean = Object.fromEntries(Object.entries(scores).filter(([axis]) => axes.has(axis)));
      if (Object.keys(clean).length) ratings[id] = clean;
    }
    foldElapsed();
    const body = {
      strength: strengthApplies(groups) ? answer.strength : "",
      all_bad: answer.allBad,
      ratings,
      rationale: answer.rationale,
      time_spent_ms: Math.round(answer.elapsedMs),
      client_token: answer.clientToken,
    };
    if (groups) body.ranking = groups;
    return body;
  }

  function renderAnswer() {
    if (!task || !answer) return;
    const groups = rankingGroups();
    const ranking = task.kind === "ranking";
    const cards = ui.responses.children;
    const ids = task.responses.map((r) => r.id);

    Array.from(cards).forEach((card, index) => {
      const id = ids[index];
      let verdict = "";
      if (!ranking) {
        if (answer.choice === "tie") verdict = "tie";
        else if (answer.choice === "a") verdict = index === 0 ? "better" : "worse";
        else if (answer.choice === "b") verdict = index === 1 ? "better" : "worse";
      } else if (answer.ranks[id]) {
        const shared = ids.filter((other) => answer.ranks[other] === answer.ranks[id]).length > 1;
        if (shared) verdict = "tie";
      }
      if (verdict) card.dataset.verdict = verdict;
      else delete card.dataset.verdict;
      card.querySelector(".verdict-badge").textContent = verdict ? t(`badge.${verdict}`) : "";
      if (answer.allBad) card.dataset.bad = "";
      else delete card.dataset.bad;

      if (ranking) {
        const rank = answer.ranks[id];
        if (rank) card.dataset.rank = String(rank);
        else delete card.dataset.rank;
        card.querySelector(".rank-slot-value").textContent = rank ? String(rank) : "–";
        for (const button of card.querySelectorAll("[data-rank-value]")) {
          button.setAttribute("aria-checked", String(Number(button.dataset.rankValue) === rank));
        }
      }
      card.classList.toggle("is-current", cursorShown && index === cursor);

      for (const row of card.querySelectorAll(".likert")) {
        const score = answer.ratings[id]?.[row.dataset.axis];
        for (const input of row.querySelectorAll("input")) input.checked = Number(input.value) === score;
      }
    });

    for (const button of ui.pairChoices.querySelectorAll("[data-choice]")) {
      button.setAttribute("aria-pressed", String(answer.choice === button.dataset.choice));
    }
    ui.allBad.setAttribute("aria-pressed", String(answer.allBad));
    for (const button of ui.strengthGroup.querySelectorAll("[data-strength]")) {
      button.setAttribute("aria-pressed", String(answer.strength === button.dataset.strength));
    }
    const applies = strengthApplies(groups);
    if (applies) delete ui.strengthGroup.dataset.disabled;
    else ui.strengthGroup.dataset.disabled = "";

    if (ranking) renderSummary(groups);
    ui.submit.setAttribute("aria-disabled", String(!isReady()));
  }

  function renderSummary(groups) {
    const ids = task.responses.map((r) => r.id);
    const letter = (id) => LETTERS[ids.indexOf(id)];
    const parts = [];
    const ranked = ids.filter((id) => answer.ranks[id]);
    if (!ranked.length) {
      const touch = window.matchMedia("(pointer: coarse)").matches;
      parts.push(el("span", "pending", t(touch ? "rank.summary.touch" : "rank.summary.empty", { n: ids.length })));
    } else {
      const levels = groups
        ? groups
        : [...new Set(ranked.map((id) => answer.ranks[id]))]
            .sort((x, y) => x - y)
            .map((level) => ranked.filter((id) => answer.ranks[id] === level));
      levels.forEach((group, i) => {
        if (i) parts.push(el("span", "sep", "›"));
        group.forEach((id, j) => {
          if (j) parts.push(el("span", "sep", "="));
          parts.push(el("span", "", letter(id)));
        });
      });
      if (!groups) parts.push(el("span", "pending", ` · ${t("rank.progress", { k: ranked.length, n: ids.length })}`));
    }
    ui.summary.replaceChildren(...parts);
  }

  function changed() {
    renderAnswer();
    saveDraft();
  }

  function setChoice(choice, { toggle = false } = {}) {
    answer.choice = toggle && answer.choice === choice ? null : choice;
    changed();
  }

  function setRank(index, rank, { toggle = false, advance = false } = {}) {
    const id = task.responses[index].id;
    if (rank && toggle && answer.ranks[id] === rank) rank = 0;
    if (rank) answer.ranks[id] = rank;
    else delete answer.ranks[id];
    if (advance && index < task.responses.length - 1) moveCursor(index + 1, { scroll: true });
    changed();
  }

  function setStrength(strength) {
    answer.strength = answer.strength === strength ? "" : strength;
    if (answer.strength && !strengthApplies(rankingGroups()) && (answer.choice || Object.keys(answer.ranks).length)) {
      announce(t("strength.na"), "warn");
    }
    changed();
  }

  function setRating(index, axis, score) {
    const id = task.responses[index].id;
    if (score) (answer.ratings[id] ||= {})[axis] = score;
    else if (answer.ratings[id]) {
      delete answer.ratings[id][axis];
      if (!Object.keys(answer.ratings[id]).length) delete answer.ratings[id];
    }
    changed();
  }

  function moveCursor(index, { scroll = true } = {}) {
    if (!task) return;
    cursor = Math.max(0, Math.min(task.responses.length - 1, index));
    cursorShown = true;
    renderAnswer();
    const card = ui.responses.children[cursor];
    if (scroll && card) {
      const box = card.getBoundingClientRect();
      const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (box.top < 60 || box.top > window.innerHeight * 0.6) {
        card.scrollIntoView({ block: "start", behavior: reduce ? "auto" : "smooth" });
      }
    }
  }

  // ---------------------------------------------------------------- submit, skip

  async function submit() {
    if (!task || submitting) return;
    if (!isReady()) {
      announce(t(task.kind === "ranking" ? "need.ranking" : "need.pairwise"), "warn");
      return;
    }
    submitting = true;
    const current = task;
    ui.submit.setAttribute("aria-busy", "true");
    const slow = setTimeout(() => announce(t("saving"), "info"), 500);
    try {
      const { status, data } = await post(`${cfg.taskUrl("annotationsUrl", current.id)}?next=1`, payload());
      clearTimeout(slow);
      if (status === 200 || status === 201) {
        clearDraft(current.id);
        sessionCount += 1;
        sessionStorage.setItem(sessionKey, String(sessionCount));
        if (data && data.next) showTask(data.next, t("saved.next"));
        else {
          if (done !== null && status === 201) done += 1;
          showEmpty(t("saved.last"));
        }
      } else if (status === 409 || status === 404) {
        clearDraft(current.id);
        await loadNext(t(data && data.code === "task_full" ? "lease.full" : "lease.lost"), "warn");
      } else if (status === 401 || status === 403) {
        announce(t("error.signed_out"), "bad");
      } else if (status === 400 && data) {
        announce(data.field ? `${data.field}: ${data.detail}` : String(data.detail || status), "bad");
      } else {
        announce(t("error.server", { status }), "bad");
      }
    } catch {
      clearTimeout(slow);
      announce(t("error.network"), "bad");
    } finally {
      submitting = false;
      ui.submit.removeAttribute("aria-busy");
    }
  }

  function openSkip() {
    if (!task || ui.skip.open) return;
    ui.skipReason.value = "";
    ui.skip.returnValue = "";
    ui.skip.showModal();
    ui.skipReason.focus();
  }

  async function skip(reason) {
    if (!task) return;
    const current = task;
    try {
      const { status } = await post(cfg.taskUrl("skipUrl", current.id), { reason });
      if (status === 204 || status === 409 || status === 404) {
        clearDraft(current.id);
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

  async function loadNext(message, tone) {
    setView("loading");
    try {
      const { status, data } = await post(cfg.nextUrl);
      if (status === 200 && data) showTask(data, message, tone);
      else if (status === 204) showEmpty(message);
      else if (status === 401 || status === 403) showError(t("error.signed_out"));
      else showError((data && data.detail) || t("error.server", { status }));
    } catch {
      showError(t("error.network"));
    }
  }

  // ---------------------------------------------------------------- lease: countdown and heartbeat

  function setLease(iso) {
    const at = Date.parse(iso);
    leaseEndsAt = Number.isNaN(at) ? 0 : at - skewMs;
  }

  function formatRemaining(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function tickLease() {
    const now = Date.now();
    if (view === "task") foldElapsed();
    if (view !== "task" || !leaseEndsAt) return;
    const remaining = (leaseEndsAt - now) / 1000;
    ui.leaseTime.textContent = formatRemaining(Math.ceil(remaining));
    const level = remaining <= 0 ? "out" : remaining <= LEASE_LOW_S ? "low" : "ok";
    ui.lease.dataset.level = level;
    if (level === "low" && !leaseWarned) {
      leaseWarned = true;
      announce(t("lease.low"), "warn");
    }
    if (level === "out" && !leaseExpiredNoted) {
      leaseExpiredNoted = true;
      announce(t("lease.expired"), "warn");
    }
    const active = now - lastActivity < ACTIVE_WINDOW_MS;
    if ((active && now - lastBeat >= HEARTBEAT_MS) || (level === "out" && now - lastBeat >= 15_000)) heartbeat();
  }

  async function heartbeat() {
    if (!task || beating) return;
    beating = true;
    lastBeat = Date.now();
    const current = task;
    try {
      const { status, data } = await post(cfg.taskUrl("heartbeatUrl", current.id));
      if (task !== current) return;
      if (status === 200 && data) {
        setLease(data.lease_expires_at);
        leaseWarned = false;
        leaseExpiredNoted = false;
        tickLease();
      } else if (status === 409 || status === 404) {
        clearDraft(current.id);
        await loadNext(t("lease.lost"), "warn");
      }
    } catch {
      // Offline for a moment: the next beat tries again, the countdown keeps running.
    } finally {
      beating = false;
    }
  }

  function noteActivity() {
    const now = Date.now();
    const wasIdle = now - lastActivity > HEARTBEAT_MS;
    lastActivity = now;
    if (view === "task" && (wasIdle || now - lastBeat >= HEARTBEAT_MS)) heartbeat();
  }

  // ---------------------------------------------------------------- keyboard

  // Letters and digits by what the key types, falling back to the physical key on other layouts.
  function keyName(event) {
    const key = event.key;
    if (key.length === 1 && key >= " " && key <= "~") return key.toLowerCase();
    if (key.length === 1) {
      const physical = /^(?:Digit|Numpad)(\d)$/.exec(event.code) || /^Key([A-Z])$/.exec(event.code);
      if (physical) return physical[1].toLowerCase();
    }
    return key;
  }

  function isTextEntry(node) {
    return (
      node instanceof HTMLTextAreaElement ||
      node instanceof HTMLSelectElement ||
      (node instanceof HTMLInputElement && !["radio", "checkbox", "button", "submit"].includes(node.type)) ||
      (node instanceof HTMLElement && node.isContentEditable)
    );
  }

  function leaveField() {
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    ui.main.focus({ preventScroll: true });
  }

  function ratingRows() {
    return Array.from(ui.responses.querySelectorAll(".likert"));
  }

  function focusRatingRow(row) {
    const input = row.querySelector("input:checked") || row.querySelector("input");
    input.focus();
    const box = row.getBoundingClientRect();
    if (box.top < 70 || box.bottom > window.innerHeight - 130) row.scrollIntoView({ block: "center" });
  }

  function startRating() {
    const card = ui.responses.children[cursor];
    const rows = card ? card.querySelectorAll(".likert") : [];
    if (!rows.length) return;
    const id = task.responses[cursor].id;
    const unrated = Array.from(rows).find((row) => !answer.ratings[id]?.[row.dataset.axis]);
    focusRatingRow(unrated || rows[0]);
  }

  function handleRatingKey(event, key, input) {
    const row = input.closest(".likert");
    const rows = ratingRows();
    const at = rows.indexOf(row);
    const index = Number(row.closest(".response").dataset.index);
    if (/^\d$/.test(key)) {
      const score = Number(key);
      if (score < 1 || score > task.rating_scale_max) return key === "0";
      event.preventDefault();
      setRating(index, row.dataset.axis, score);
      if (at < rows.length - 1) focusRatingRow(rows[at + 1]);
      else leaveField();
      return true;
    }
    if (key === "Backspace" || key === "Delete") {
      event.preventDefault();
      setRating(index, row.dataset.axis, 0);
      return true;
    }
    if (key === "ArrowDown" || key === "ArrowUp") {
      event.preventDefault();
      const to = at + (key === "ArrowDown" ? 1 : -1);
      if (to >= 0 && to < rows.length) focusRatingRow(rows[to]);
      return true;
    }
    if (key === "Escape") {
      event.preventDefault();
      leaveField();
      return true;
    }
    return false;
  }

  function toggleGuidelines() {
    if (ui.guidelines.open) ui.guidelines.close();
    else ui.guidelines.showModal();
  }

  function onKeyDown(event) {
    if (event.defaultPrevented || event.isComposing || event.keyCode === 229) return;
    const key = keyName(event);
    const target = event.target;

    if (ui.guidelines.open) {
      if ((key === "g" || key === "?") && !isTextEntry(target) && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        ui.guidelines.close();
      }
      return;
    }
    if (ui.skip.open) return; // the dialog's form: Enter confirms, Esc cancels

    if (view !== "task") {
      if ((key === "g" || key === "?") && !isTextEntry(target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        toggleGuidelines();
      }
      return;
    }

    if (isTextEntry(target)) {
      if (key === "Escape") {
        event.preventDefault();
        leaveField();
      } else if (key === "Enter" && (event.ctrlKey || event.metaKey) && target === ui.rationale) {
        event.preventDefault();
        submit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target instanceof HTMLInputElement && target.closest(".likert") && handleRatingKey(event, key, target)) return;

    const ranking = task.kind === "ranking";
    const n = task.responses.length;

    if (/^\d$/.test(key)) {
      const digit = Number(key);
      if (ranking) {
        if (digit > n) return;
        event.preventDefault();
        setRank(cursor, digit, { advance: digit > 0 });
      } else if (digit >= 1 && digit <= 3) {
        event.preventDefault();
        setChoice(["a", "b", "tie"][digit - 1]);
      }
      return;
    }

    switch (key) {
      case "Enter": {
        if (target instanceof HTMLElement && target.closest("a, .site-header, .taskbar")) return;
        event.preventDefault();
        if (!event.repeat) submit();
        return;
      }
      case "Backspace":
      case "Delete":
        if (ranking) {
          event.preventDefault();
          setRank(cursor, 0);
        }
        return;
      case "x":
        event.preventDefault();
        answer.allBad = !answer.allBad;
        changed();
        return;
      case "q":
      case "w":
      case "e":
        event.preventDefault();
        setStrength({ q: "slight", w: "clear", e: "strong" }[key]);
        return;
      case "j":
        event.preventDefault();
        moveCursor(cursor + 1);
        return;
      case "k":
        event.preventDefault();
        moveCursor(cursor - 1);
        return;
      case "r":
        event.preventDefault();
        cursorShown = true;
        startRating();
        renderAnswer();
        return;
      case "n":
        event.preventDefault();
        ui.rationale.focus();
        return;
      case "s":
        event.preventDefault();
        openSkip();
        return;
      case "g":
      case "?":
        event.preventDefault();
        toggleGuidelines();
        return;
      case "Escape":
        if (document.activeElement !== ui.main) leaveField();
        return;
      default:
    }
  }

  // ---------------------------------------------------------------- wiring

  document.addEventListener("keydown", onKeyDown);
  for (const type of ["keydown", "pointerdown", "wheel", "input"]) {
    document.addEventListener(type, noteActivity, { passive: true, capture: true });
  }
  let lastMove = 0;
  document.addEventListener(
    "pointermove",
    () => {
      const now = Date.now();
      if (now - lastMove > 5000) {
        lastMove = now;
        noteActivity();
      }
    },
    { passive: true },
  );
  window.addEventListener("scroll", () => (lastActivity = Date.now()), { passive: true });

  ui.pairChoices.addEventListener("click", (event) => {
    const button = event.target.closest("[data-choice]");
    if (button && task) setChoice(button.dataset.choice, { toggle: true });
  });
  ui.allBad.addEventListener("click", () => {
    if (!task) return;
    answer.allBad = !answer.allBad;
    changed();
  });
  ui.strengthGroup.addEventListener("click", (event) => {
    const button = event.target.closest("[data-strength]");
    if (button && task) setStrength(button.dataset.strength);
  });
  ui.submit.addEventListener("click", () => submit());

  ui.responses.addEventListener("click", (event) => {
    const button = event.target.closest("[data-rank-value]");
    if (!button || !task) return;
    const index = Number(button.closest(".response").dataset.index);
    cursor = index;
    setRank(index, Number(button.dataset.rankValue), { toggle: true });
  });
  ui.responses.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !task) return;
    const row = input.closest(".likert");
    if (!row) return;
    setRating(Number(input.closest(".response").dataset.index), row.dataset.axis, Number(input.value));
  });
  ui.responses.addEventListener("focusin", (event) => {
    const card = event.target.closest(".response");
    if (!card || !task) return;
    const index = Number(card.dataset.index);
    if (index !== cursor || !cursorShown) {
      cursor = index;
      cursorShown = true;
      renderAnswer();
    }
  });

  ui.rationale.addEventListener("input", () => {
    if (!answer) return;
    answer.rationale = ui.rationale.value;
    saveDraftSoon();
  });

  ui.btnGuidelines.addEventListener("click", toggleGuidelines);
  ui.btnSkip.addEventListener("click", openSkip);
  for (const dialog of [ui.guidelines, ui.skip]) {
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || event.target.closest("[data-close]")) dialog.close();
    });
  }
  ui.skip.addEventListener("close", () => {
    if (ui.skip.returnValue === "skip") skip(ui.skipReason.value.trim());
  });

  $("btn-check-again").addEventListener("click", () => loadNext());
  $("btn-retry-load").addEventListener("click", () => loadNext());

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") saveDraft();
    else {
      countedUntil = Date.now();
      if (view === "task" && Date.now() - lastBeat > 30_000) heartbeat();
    }
  });
  window.addEventListener("pagehide", saveDraft);

  setInterval(tickLease, 1000);
  pruneDrafts();
  renderCounters();
  setView("loading");
  loadNext();
})();
