// @ts-check
// The REST API as the annotate page uses it: JSON POSTs with Django's CSRF header (session auth), each
// answer parsed into a typed body or an error body. Network failures reject (the caller says "offline").
/** @import { AnnotationBody, AnnotationResult, ApiError, Lease, Task } from "./types.js" */

/**
 * `body`: the parsed JSON of a 2xx answer (null for 204 or a body that is not JSON); `error`: the parsed
 * error body of a 4xx/5xx (null when it had none). `serverDate`: the answer's Date header in ms (NaN
 * when missing), for the clock skew. `retryAfter`: the Retry-After header in seconds (NaN when missing), sent
 * with a 503 while the database is briefly unavailable.
 * @template T
 * @typedef {{status: number, body: T | null, error: ApiError | null, serverDate: number, retryAfter: number}} Reply
 */

/**
 * URL templates from the page (`data-*-url`); the task ones carry `/0/` where the task id goes.
 * @typedef {object} Urls
 * @property {string} next
 * @property {string} annotations
 * @property {string} skip
 * @property {string} heartbeat
 */

/**
 * @typedef {object} Api
 * @property {() => Promise<Reply<Task>>} nextTask 200 a task, 204 nothing left
 * @property {(taskId: number, body: AnnotationBody) => Promise<Reply<AnnotationResult>>} submit with the next task
 * @property {(taskId: number, reason: string) => Promise<Reply<null>>} skip 204
 * @property {(taskId: number) => Promise<Reply<Lease>>} heartbeat 200 the lease, extended
 */

/**
 * Django's CSRF token from a cookie string (`document.cookie`).
 * @param {string} cookie
 */
export function csrfToken(cookie) {
  const match = cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/**
 * Seconds to wait before retrying an answer that said "briefly unavailable": its Retry-After, within
 * 1..60, else 5.
 * @param {number} retryAfter
 */
export function retryDelay(retryAfter) {
  return Number.isFinite(retryAfter) ? Math.min(60, Math.max(1, retryAfter)) : 5;
}

/**
 * @param {string} template
 * @param {number} id
 */
export function taskUrl(template, id) {
  return template.replace("/0/", `/${encodeURIComponent(id)}/`);
}

/**
 * `onDate` hears every answer's Date header (ms; NaN when missing) before its body is read.
 * @param {Urls} urls
 * @param {{fetch: typeof globalThis.fetch, cookie: () => string, onDate?: (serverDate: number) => void}} deps
 * @returns {Api}
 */
export function createApi(urls, { fetch, cookie, onDate }) {
  /**
   * @template T
   * @param {string} url
   * @param {unknown} [body]
   * @returns {Promise<Reply<T>>}
   */
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(cookie()),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const serverDate = Date.parse(response.headers.get("Date") || "");
    onDate?.(serverDate);
    /** @type {unknown} */
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    const ok = response.status >= 200 && response.status < 300;
    return {
      status: response.status,
      body: ok ? /** @type {T | null} */ (data) : null,
      error: !ok && isError(data) ? data : null,
      serverDate,
      retryAfter: Number.parseInt(response.headers.get("Retry-After") || "", 10),
    };
  }

  return {
    nextTask: () => post(urls.next),
    submit: (taskId, body) => post(`${taskUrl(urls.annotations, taskId)}?next=1`, body),
    skip: (taskId, reason) => post(taskUrl(urls.skip, taskId), { reason }),
    heartbeat: (taskId) => post(taskUrl(urls.heartbeat, taskId)),
  };
}

/**
 * @param {unknown} data
 * @returns {data is ApiError}
 */
function isError(data) {
  const detail = data && typeof data === "object" ? /** @type {{detail?: unknown}} */ (data).detail : undefined;
  return typeof detail === "string";
}

/**
 * Server clock minus ours from a Date header, or 0 within the header's one-second resolution.
 * @param {number} serverDate ms, NaN when unknown
 * @param {number} now
 * @param {number} previous the skew known so far (kept when the header is missing)
 */
export function clockSkew(serverDate, now, previous) {
  if (Number.isNaN(serverDate)) return previous;
  const skew = serverDate - now;
  return Math.abs(skew) > 2000 ? skew : 0;
}

/**
 * A random client token (UUID v4) for idempotent submissions; randomUUID needs a secure context, so plain
 * http on a LAN falls back to getRandomValues.
 * @param {Crypto} crypto
 */
export function newToken(crypto) {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
