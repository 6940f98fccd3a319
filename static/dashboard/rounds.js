// @ts-check
// Keeps the dashboard's server-rendered rounds panel (stage, progress, charts) current: every 2 s while a
// round is active, every 10 s while idle (a round launched by the schedule, the API or the CLI shows up
// without a reload), with backoff after errors, and not at all while the tab is hidden. The panel comes
// from the server as HTML (templates/partials/rounds_panel.html, our own template) and replaces the old
// one in place; when a round finishes the page reloads once, for the counts and statistics above it.

export const ACTIVE_MS = 2000;
export const IDLE_MS = 10_000;
export const MAX_BACKOFF_MS = 60_000;

/**
 * How long until the next poll: doubling from 4 s after each failure in a row (to a minute), otherwise
 * quick while a round is active and slow while idle.
 * @param {{failures: number, active: boolean}} poller
 */
export function nextDelay({ failures, active }) {
  if (failures) return Math.min(MAX_BACKOFF_MS, ACTIVE_MS * 2 ** failures);
  return active ? ACTIVE_MS : IDLE_MS;
}

/** @param {Element | null} panel */
function isActive(panel) {
  return panel instanceof HTMLElement && panel.dataset.active === "1";
}

/** @param {Document} doc */
function startRoundsPoller(doc) {
  let timer = 0;
  let inFlight = false;
  let failures = 0;
  const panel = () => doc.getElementById("rounds-panel");

  /** @param {number} ms */
  function schedule(ms) {
    clearTimeout(timer);
    timer = 0;
    if (!doc.hidden) timer = window.setTimeout(poll, ms);
  }

  // The launch button is disabled while a round runs; keep it in step without reloading the form.
  /** @param {boolean} active */
  function syncLaunchForm(active) {
    const button = doc.querySelector(".launch-form button[type=submit]");
    if (!(button instanceof HTMLButtonElement)) return;
    button.disabled = active;
    if (active) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
    const note = doc.getElementById("launch-busy");
    if (note) note.hidden = !active;
  }

  // True when the person has started filling the launch form (a reload would throw that away).
  function formInUse() {
    const form = doc.querySelector(".launch-form");
    if (!form) return false;
    const config = form.querySelector("textarea");
    return form.contains(doc.activeElement) || (!!config && config.value.trim() !== "");
  }

  /**
   * Swaps the fresh panel in, keeping open error details open. Returns whether the page should reload.
   * @param {string} html
   */
  function apply(html) {
    // DOMParser: an inert document (nothing in it loads or runs until it is in the page).
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("rounds-panel");
    if (!fresh) throw new Error("rounds panel: unexpected response");
    failures = 0;
    const live = panel();
    const wasActive = isActive(live);
    const nowActive = isActive(fresh);
    if (live && live.innerHTML !== fresh.innerHTML) {
      const open = Array.from(live.querySelectorAll("tr[data-round] details[open]"), (d) =>
        d.closest("tr")?.getAttribute("data-round"),
      );
      live.replaceWith(fresh);
      for (const id of open) {
        const details = fresh.querySelector(`tr[data-round='${id}'] details`);
        if (details instanceof HTMLDetailsElement) details.open = true;
      }
    }
    syncLaunchForm(nowActive);
    // A round just finished: the counts and statistics above changed too.
    return wasActive && !nowActive && !formInUse();
  }

  async function poll() {
    const current = panel();
    if (!(current instanceof HTMLElement) || inFlight || doc.hidden) return;
    inFlight = true;
    try {
      const response = await fetch(current.dataset.url || "", {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      });
      if (!response.ok || response.redirected) throw new Error(`rounds panel: HTTP ${response.status}`);
      if (apply(await response.text())) window.location.reload();
    } catch {
      failures += 1;
    } finally {
      inFlight = false;
    }
    schedule(nextDelay({ failures, active: isActive(panel()) }));
  }

  doc.addEventListener("visibilitychange", () => {
    if (doc.hidden) {
      clearTimeout(timer);
      timer = 0;
    } else schedule(0);
  });
  schedule(nextDelay({ failures, active: isActive(panel()) }));
}

if (typeof document !== "undefined" && document.getElementById("rounds-panel")) startRoundsPoller(document);
