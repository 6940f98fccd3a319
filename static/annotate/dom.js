// @ts-check
// The annotate page's elements, found once (a missing one is an error at start, not later), and `el`,
// which builds one. Text always goes in as text.

/**
 * @template {HTMLElement} E
 * @param {Document} doc
 * @param {string} id
 * @param {new () => E} type
 * @returns {E}
 */
function byId(doc, id, type) {
  const node = doc.getElementById(id);
  if (!(node instanceof type)) throw new Error(`annotate page: #${id} is missing or not a ${type.name}`);
  return node;
}

/** @param {Document} doc */
export function findUi(doc) {
  const get = (/** @type {string} */ id) => byId(doc, id, HTMLElement);
  return {
    root: get("annotator"),
    i18n: byId(doc, "i18n", HTMLTemplateElement),
    main: get("main"),
    workspace: get("workspace"),
    conversation: get("conversation"),
    turnCount: get("turn-count"),
    responses: get("responses"),
    responsesHelp: get("responses-help"),
    rationale: byId(doc, "rationale", HTMLTextAreaElement),
    bar: get("decision-bar"),
    pairChoices: get("pairwise-choices"),
    verdictLabel: get("verdict-label"),
    summary: get("ranking-summary"),
    allBad: get("btn-all-bad"),
    strengthGroup: get("strength-group"),
    submit: get("btn-submit"),
    legendPair: get("legend-pairwise"),
    legendRank: get("legend-ranking"),
    legendMaxRank: get("legend-max-rank"),
    // The feedback kinds (issue 11).
    verdictGroup: get("verdict-group"),
    saferGroup: get("safer-group"),
    scratch: get("scratch"),
    legendScore: get("legend-score"),
    legendMaxScore: get("legend-max-score"),
    legendSafer: get("legend-safer"),
    legendEdit: get("legend-edit"),
    legendHarm: get("legend-harm"),
    status: get("status"),
    done: get("done-count"),
    session: get("session-count"),
    lease: get("lease"),
    leaseTime: get("lease-time"),
    btnGuidelines: byId(doc, "btn-guidelines", HTMLButtonElement),
    btnSkip: byId(doc, "btn-skip", HTMLButtonElement),
    btnCheckAgain: byId(doc, "btn-check-again", HTMLButtonElement),
    btnRetry: byId(doc, "btn-retry-load", HTMLButtonElement),
    guidelines: byId(doc, "guidelines-dialog", HTMLDialogElement),
    skip: byId(doc, "skip-dialog", HTMLDialogElement),
    skipReason: byId(doc, "skip-reason", HTMLInputElement),
    loading: get("state-loading"),
    empty: get("state-empty"),
    emptyTitle: get("empty-title"),
    emptySession: get("empty-session"),
    error: get("state-error"),
    errorTitle: get("error-title"),
    errorDetail: get("error-detail"),
    kept: get("kept-draft"),
    keptMessage: get("kept-message"),
    keptRationale: get("kept-rationale"),
    keptText: byId(doc, "kept-text", HTMLTextAreaElement),
    btnCopyKept: byId(doc, "btn-copy-kept", HTMLButtonElement),
    btnDismissKept: byId(doc, "btn-dismiss-kept", HTMLButtonElement),
  };
}
/** @typedef {ReturnType<typeof findUi>} Ui */

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
