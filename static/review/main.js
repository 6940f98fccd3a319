// @ts-check
// The reviewer's page (/p/<slug>/review/): the next comparison that needs a second look, every annotation
// of it (pseudonymous, with its rationale), and a verdict with the keyboard alone. State lives in state.js
// (pure); this module draws it and talks to the API. Model text arrives sanitised from the server (`html`);
// everything else goes in as text.
/** @import { ReviewAnnotation, ReviewItem, ReviewState } from "./state.js" */
import { csrfToken, newToken } from "../annotate/api.js";
import { readStrings, translator } from "../annotate/i18n.js";
import {
  LETTERS, chooseVerdict, clearOrder, initialState, isReady, lettersOf, moveFocus, placeNext, reviewBody,
  reviewKey, tieAll, toggleReject, writeComment,
} from "./state.js";

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`review page: #${id} is missing`);
  return node;
}

/** @param {Document} doc */
function start(doc) {
  const root = byId("reviewer");
  const t = translator(readStrings(/** @type {HTMLTemplateElement} */ (byId("review-i18n"))));
  const status = byId("review-status");
  const comment = /** @type {HTMLTextAreaElement} */ (byId("review-comment"));
  /** @type {ReviewState | null} */
  let state = null;
  let token = newToken(window.crypto);
  let busy = false;

  /**
   * @param {string} url
   * @param {unknown} [body]
   */
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(doc.cookie) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    return { status: response.status, data };
  }

  /** @param {string} text @param {"info" | "good" | "bad"} level */
  function say(text, level) {
    status.textContent = text;
    status.dataset.level = level;
  }

  /** @param {"loading" | "item" | "empty" | "error"} view */
  function setView(view) {
    root.dataset.state = view;
    for (const name of ["loading", "item", "empty", "error"]) byId(`review-${name}`).hidden = name !== view;
  }

  function drawConversation(/** @type {ReviewItem} */ item) {
    const box = byId("review-conversation");
    box.replaceChildren();
    for (const message of item.comparison.prompt.messages) {
      const wrap = el("div", `msg msg-${message.role}`);
      wrap.append(el("div", "msg-role", t(`role.${message.role}`, undefined, message.role)));
      const bubble = el("div", "msg-bubble md");
      bubble.innerHTML = message.html; // sanitised on the server
      wrap.append(bubble);
      box.append(wrap);
    }
  }

  function drawResponses(/** @type {ReviewItem} */ item) {
    const box = byId("review-responses");
    box.replaceChildren();
    box.dataset.count = String(item.comparison.responses.length);
    item.comparison.responses.forEach((response, index) => {
      const card = el("article", "review-response card");
      const head = el("h3", "review-response-title");
      head.append(el("span", "letter", LETTERS[index]), el("span", "", t("response", { label: LETTERS[index] })));
      const body = el("div", "md review-response-body");
      body.innerHTML = response.html; // sanitised on the server
      card.append(head, body);
      box.append(card);
    });
  }

  /**
   * Harm flags, the safer verdict and rewrites of one annotation, as text (model and annotator text is untrusted).
   * @param {HTMLElement} card
   * @param {ReviewItem} item
   * @param {ReviewAnnotation} annotation
   */
  function drawFeedback(card, item, annotation) {
    for (const [responseId, flag] of Object.entries(annotation.safety || {})) {
      if (flag.safe !== false) continue;
      const categories = (flag.categories || []).map((slug) => t(`harm.${slug}`, undefined, slug)).join(", ");
      const severity = flag.severity ? t(`severity.${flag.severity}`, undefined, flag.severity) : "";
      const what = [lettersOf(item, [[responseId]]), categories, severity].filter(Boolean);
      card.append(el("p", "tag tag-bad review-harm", `${t("unsafe")}: ${what.join(" · ")}`));
    }
    if (annotation.harmless_ranking) {
      card.append(el("p", "review-safer", `${t("safer")}: ${lettersOf(item, annotation.harmless_ranking)}`));
    }
    for (const edit of annotation.edits || []) {
      const label = edit.response ? t("edit.of", { label: lettersOf(item, [[edit.response]]) }) : t("edit.own");
      const block = el("figure", "review-edit");
      block.append(el("figcaption", "", label));
      block.append(el("pre", "", edit.text));
      card.append(block);
    }
  }

  function drawAnnotations() {
    if (!state) return;
    const current = state;
    const box = byId("review-annotations");
    box.replaceChildren();
    current.item.annotations.forEach((annotation, index) => {
      const card = el("article", "review-annotation");
      card.dataset.annotationId = String(annotation.id);
      card.dataset.focused = String(index === current.focus);
      const rejected = current.rejected.includes(annotation.id);
      card.dataset.rejected = String(rejected);
      const head = el("div", "review-annotation-head");
      head.append(el("span", "pseudonym", annotation.annotator));
      head.append(el("span", "review-order", annotation.all_bad ? `${t("all_bad")} · ${lettersOf(current.item, annotation.ranking)}` : lettersOf(current.item, annotation.ranking)));
      if (annotation.strength) head.append(el("span", "tag", t(`strength.${annotation.strength}`, undefined, annotation.strength)));
      if (annotation.gold_correct !== null) {
        head.append(el("span", `tag ${annotation.gold_correct ? "tag-good" : "tag-bad"}`, t(annotation.gold_correct ? "gold.right" : "gold.wrong")));
      }
      if (annotation.excluded) head.append(el("span", "tag tag-bad", t(`excluded.${annotation.excluded}`, undefined, annotation.excluded)));
      const reject = el("button", "btn btn-small btn-quiet review-reject", rejected ? t("reject.undo") : t("reject"));
      reject.setAttribute("type", "button");
      reject.setAttribute("aria-pressed", String(rejected));
      reject.addEventListener("click", () => update(toggleReject(current, annotation.id)));
      head.append(reject);
      card.append(head);
      card.append(el("p", annotation.rationale ? "review-rationale" : "review-rationale muted", annotation.rationale || t("no_rationale")));
      drawFeedback(card, current.item, annotation);
      box.append(card);
    });
  }

  function drawDecision() {
    if (!state) return;
    for (const button of doc.querySelectorAll("[data-verdict]")) {
      if (button instanceof HTMLElement) button.setAttribute("aria-pressed", String(button.dataset.verdict === state.verdict));
    }
    const order = byId("review-override-order");
    order.textContent = state.verdict === "override"
      ? (state.order.length ? lettersOf(state.item, state.order) : t("override.hint", { n: state.item.comparison.responses.length }))
      : "";
    byId("review-submit").toggleAttribute("disabled", !isReady(state));
    byId("review-rejected-count").textContent = state.rejected.length ? t("rejected.count", { n: state.rejected.length }) : "";
  }

  /** @param {ReviewState} next */
  function update(next) {
    state = next;
    drawAnnotations();
    drawDecision();
  }

  /** @param {ReviewItem} item */
  function show(item) {
    state = initialState(item);
    token = newToken(window.crypto);
    comment.value = "";
    root.dataset.comparisonId = String(item.comparison.id);
    const reasons = byId("review-reasons");
    reasons.replaceChildren(...item.reasons.map((reason) => el("span", "tag tag-reason", t(`reason.${reason}`, undefined, reason))));
    const gold = byId("review-gold");
    gold.hidden = !item.comparison.gold;
    if (item.comparison.gold) {
      gold.replaceChildren(
        el("strong", "", t("gold.expected", { order: lettersOf(item, item.comparison.gold.expected) })),
        el("span", "", item.comparison.gold.explanation),
      );
    }
    drawConversation(item);
    drawResponses(item);
    update(state);
    setView("item");
    byId("review-title").focus();
  }

  async function loadNext() {
    setView("loading");
    try {
      const { status: code, data } = await post(root.dataset.nextUrl || "");
      if (code === 200 && data) show(/** @type {ReviewItem} */ (data));
      else if (code === 204) setView("empty");
      else {
        byId("review-error-detail").textContent = t("error.server", { status: code });
        setView("error");
      }
    } catch {
      byId("review-error-detail").textContent = t("error.network");
      setView("error");
    }
  }

  async function submit() {
    if (!state || busy) return;
    if (!isReady(state)) {
      say(t(state.verdict === "override" ? "need.order" : "need.verdict"), "bad");
      return;
    }
    busy = true;
    const url = (root.dataset.reviewUrl || "").replace("/0/", `/${state.item.comparison.id}/`);
    try {
      const { status: code, data } = await post(url, reviewBody(state, token));
      if (code === 201 || code === 200) {
        say(t("saved"), "good");
        await loadNext();
      } else {
        const error = /** @type {{field?: string, detail?: string} | null} */ (data);
        say(error?.field ? `${error.field}: ${error.detail}` : t("error.server", { status: code }), "bad");
      }
    } catch {
      say(t("error.network"), "bad");
    } finally {
      busy = false;
    }
  }

  comment.addEventListener("input", () => {
    if (state) state = writeComment(state, comment.value);
  });
  for (const button of doc.querySelectorAll("[data-verdict]")) {
    button.addEventListener("click", () => {
      const verdict = /** @type {HTMLElement} */ (button).dataset.verdict;
      if (state && (verdict === "accept" || verdict === "override" || verdict === "reject_all")) update(chooseVerdict(state, verdict));
    });
  }
  byId("review-submit").addEventListener("click", () => submit());
  byId("review-check-again").addEventListener("click", () => loadNext());
  byId("review-retry").addEventListener("click", () => loadNext());

  doc.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && doc.activeElement === comment) {
      comment.blur();
      return;
    }
    if (!state || root.dataset.state !== "item") return;
    const typing = doc.activeElement === comment;
    const action = reviewKey(event.key, { typing, responses: state.item.comparison.responses.length });
    if (action.type === "none") return;
    event.preventDefault();
    if (action.type === "verdict") update(chooseVerdict(state, action.verdict));
    else if (action.type === "place") update(placeNext(state, action.index));
    else if (action.type === "tie") update(tieAll(state));
    else if (action.type === "clear") update(clearOrder(state));
    else if (action.type === "focus") {
      update(moveFocus(state, action.step));
      doc.querySelector("[data-focused='true']")?.scrollIntoView({ block: "nearest" });
    } else if (action.type === "reject") update(toggleReject(state));
    else if (action.type === "comment") comment.focus();
    else if (action.type === "submit") submit();
  });

  loadNext();
}

start(document);
