// @ts-check
// The lease on the current task: its countdown and when to send a heartbeat (which extends it). Pure:
// main.js keeps the LeaseState, calls `tick` once a second and sends the heartbeats these functions ask for.

/** The heartbeat's interval while the annotator is active: a minute, or a third of a shorter lease. */
export const HEARTBEAT_MS = 60_000;
/** Never more often than this (a lease about to run out, a clock that jumped). */
const MIN_HEARTBEAT_MS = 5000;
/** The countdown turns "low" (and says so once) below this. */
export const LEASE_LOW_S = 120;
/** Once the lease ran out, a heartbeat every so often in case the task still has room. */
const EXPIRED_BEAT_MS = 15_000;
/** Back in a hidden tab after this long (or after an interval, if shorter): a heartbeat at once. */
const RETURN_BEAT_MS = 30_000;

/**
 * @typedef {object} LeaseState
 * @property {number} endsAt when the lease runs out, in our clock's ms (0: unknown)
 * @property {boolean} warned the "low" notice was given
 * @property {boolean} expiredNoted the "expired" notice was given
 * @property {number} lastBeat when the last heartbeat was sent (or the lease taken)
 * @property {boolean} beating a heartbeat is in flight
 * @property {number} intervalMs between heartbeats while active (beatInterval of the lease's length)
 */

/** @typedef {"ok" | "low" | "out"} LeaseLevel */

/**
 * @typedef {object} TickResult
 * @property {LeaseState} lease
 * @property {{text: string, level: LeaseLevel} | null} shown
 * @property {("low" | "expired")[]} notices
 * @property {boolean} beat
 */

/** @returns {LeaseState} */
export function noLease() {
  return {
    endsAt: 0,
    warned: false,
    expiredNoted: false,
    lastBeat: 0,
    beating: false,
    intervalMs: HEARTBEAT_MS,
  };
}

/**
 * @param {string} iso the server's lease_expires_at
 * @param {number} skewMs server clock minus ours
 */
export function leaseEnd(iso, skewMs) {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? 0 : at - skewMs;
}

/**
 * How often to extend a lease that runs `remainingMs` from now: a third of it, so that one lost or late
 * heartbeat does not lose the task, and at most once a minute. (A lease is as long as the project's
 * lease_seconds when taken or extended, 30 s at the least: a heartbeat every 10 s then.)
 * @param {number} remainingMs
 */
export function beatInterval(remainingMs) {
  return Math.max(MIN_HEARTBEAT_MS, Math.min(HEARTBEAT_MS, remainingMs / 3));
}

/**
 * A lease just taken (a new task): its end, fresh notices, and the heartbeat clock starting now.
 * @param {LeaseState} lease
 * @param {string} iso
 * @param {number} skewMs
 * @param {number} now
 * @returns {LeaseState}
 */
export function takeLease(lease, iso, skewMs, now) {
  const endsAt = leaseEnd(iso, skewMs);
  const intervalMs = interval(endsAt, now);
  return { ...lease, endsAt, warned: false, expiredNoted: false, lastBeat: now, intervalMs };
}

/**
 * @param {number} endsAt
 * @param {number} now
 */
function interval(endsAt, now) {
  return endsAt ? beatInterval(endsAt - now) : HEARTBEAT_MS;
}

/**
 * A heartbeat's answer: the lease runs to its new end, and the notices may come again.
 * @param {LeaseState} lease
 * @param {string} iso
 * @param {number} skewMs
 * @param {number} now
 * @returns {LeaseState}
 */
export function extendLease(lease, iso, skewMs, now) {
  const endsAt = leaseEnd(iso, skewMs);
  return { ...lease, endsAt, warned: false, expiredNoted: false, intervalMs: interval(endsAt, now) };
}

/**
 * @param {LeaseState} lease
 * @param {number} now
 * @returns {LeaseState}
 */
export function beatSent(lease, now) {
  return { ...lease, beating: true, lastBeat: now };
}

/**
 * @param {LeaseState} lease
 * @returns {LeaseState}
 */
export function beatDone(lease) {
  return { ...lease, beating: false };
}

/**
 * @param {number} seconds
 */
export function formatRemaining(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/**
 * @param {number} remaining seconds
 * @returns {LeaseLevel}
 */
export function leaseLevel(remaining) {
  return remaining <= 0 ? "out" : remaining <= LEASE_LOW_S ? "low" : "ok";
}

/**
 * One second of the countdown. `shown`: what the countdown reads (null: no lease to show); `notices`: the
 * one-time messages due now; `beat`: a heartbeat is due (active and an interval since the last one, or
 * the lease ran out and 15 s since the last try).
 * @param {LeaseState} lease
 * @param {{now: number, lastActivity: number, activeWindowMs: number}} clock
 * @returns {TickResult}
 */
export function tick(lease, { now, lastActivity, activeWindowMs }) {
  if (!lease.endsAt) return { lease, shown: null, notices: [], beat: false };
  const remaining = (lease.endsAt - now) / 1000;
  const level = leaseLevel(remaining);
  /** @type {("low" | "expired")[]} */
  const notices = [];
  let next = lease;
  if (level === "low" && !lease.warned) {
    next = { ...next, warned: true };
    notices.push("low");
  }
  if (level === "out" && !lease.expiredNoted) {
    next = { ...next, expiredNoted: true };
    notices.push("expired");
  }
  const since = now - lease.lastBeat;
  const active = now - lastActivity < activeWindowMs;
  const beat = (active && since >= lease.intervalMs) || (level === "out" && since >= EXPIRED_BEAT_MS);
  return { lease: next, shown: { text: formatRemaining(Math.ceil(remaining)), level }, notices, beat };
}

/**
 * The annotator did something: a heartbeat at once when they come back from a pause longer than the
 * interval, or when one is due anyway.
 * @param {LeaseState} lease
 * @param {{now: number, lastActivity: number}} clock lastActivity before this activity
 */
export function beatOnActivity(lease, { now, lastActivity }) {
  return now - lastActivity > lease.intervalMs || now - lease.lastBeat >= lease.intervalMs;
}

/**
 * The tab became visible again.
 * @param {LeaseState} lease
 * @param {number} now
 */
export function beatOnReturn(lease, now) {
  return now - lease.lastBeat > Math.min(RETURN_BEAT_MS, lease.intervalMs);
}
