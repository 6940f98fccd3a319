// @ts-check
// The guidelines' live preview: the markdown as annotators will see it, rendered by the server's sanitising
// renderer (the one the annotate page uses), fetched a moment after typing stops. The server's answer is
// sanitised HTML (annotation/rendering.py), so it may go into the page as HTML.

export const DEBOUNCE_MS = 300;

/**
 * Calls `run` once typing has paused for `ms` (the latest call wins).
 * @param {() => void} run
 * @param {number} ms
 * @returns {() => void}
 */
export function debounce(run, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(run, ms);
  };
}

/** @param {Document} doc */
function csrfToken(doc) {
  const input = doc.querySelector("input[name=csrfmiddlewaretoken]");
  return input instanceof HTMLInputElement ? input.value : "";
}

/**
 * @param {Document} doc
 * @param {HTMLTextAreaElement} textarea
 */
function startPreview(doc, textarea) {
  const target = doc.getElementById(textarea.dataset.previewTarget || "");
  const url = textarea.dataset.previewUrl || "";
  if (!target || !url) return;
  let sent = 0;
  async function refresh() {
    const mine = ++sent;
    const body = new URLSearchParams({ text: textarea.value });
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(doc) },
        body,
      });
      if (!response.ok) throw new Error(`preview: HTTP ${response.status}`);
      const html = await response.text();
      if (mine === sent && target) target.innerHTML = html;
    } catch {
      if (target) target.dataset.stale = "1";
    }
  }
  textarea.addEventListener("input", debounce(refresh, DEBOUNCE_MS));
  refresh();
}

if (typeof document !== "undefined") {
  for (const textarea of document.querySelectorAll("textarea[data-preview-target]")) {
    if (textarea instanceof HTMLTextAreaElement) startPreview(document, textarea);
  }
}
