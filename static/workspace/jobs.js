// @ts-check
// Keeps the models page's fill-the-queue jobs current while one is queued or running: the server renders
// the panel (templates/workspace/jobs_panel.html) and it replaces the old one every 2 s, with backoff after
// errors; polling stops when no job is active and the page reloads once for the counts above.

import { nextDelay } from "../dashboard/rounds.js";

/** @param {Element | null} panel */
export function isActive(panel) {
  return panel instanceof HTMLElement && panel.dataset.active === "1";
}

/** @param {Document} doc */
function startJobsPoller(doc) {
  let failures = 0;
  const panel = () => doc.getElementById("jobs-panel");

  async function poll() {
    const current = panel();
    if (!(current instanceof HTMLElement)) return;
    try {
      const response = await fetch(current.dataset.url || "", { credentials: "same-origin" });
      if (!response.ok || response.redirected) throw new Error(`jobs panel: HTTP ${response.status}`);
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("jobs-panel");
      if (!fresh) throw new Error("jobs panel: unexpected response");
      failures = 0;
      current.replaceWith(fresh);
      if (!isActive(fresh)) return;
    } catch {
      failures += 1;
    }
    window.setTimeout(poll, nextDelay({ failures, active: true }));
  }

  if (isActive(panel())) window.setTimeout(poll, nextDelay({ failures, active: true }));
}

if (typeof document !== "undefined" && document.getElementById("jobs-panel")) startJobsPoller(document);
