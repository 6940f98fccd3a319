// @ts-check
// What survives a reload: unfinished answers (drafts, in localStorage, per user and task, for two weeks)
// and the tab's submission count (sessionStorage). Storage may be missing, full or disabled: then the
// answer lives in the page only, and nothing here throws.
/** @import { Draft } from "./state.js" */

export const DRAFT_TTL_MS = 14 * 24 * 3600 * 1000;
const PREFIX = "prefer:draft:";

/**
 * @typedef {object} Drafts
 * @property {(taskId: number, draft: Draft) => void} save
 * @property {(taskId: number) => unknown} load the stored draft (any shape: restoreAnswer checks it) or null
 * @property {(taskId: number) => void} clear
 * @property {(now: number) => void} prune drops every draft (of any user) older than the TTL
 */

/**
 * @param {string} user
 * @param {number} taskId
 */
export function draftKey(user, taskId) {
  return `${PREFIX}${user}:${taskId}`;
}

/**
 * @param {Storage | null} storage
 * @param {string} user
 * @returns {Drafts}
 */
export function createDrafts(storage, user) {
  return {
    save(taskId, draft) {
      try {
        storage?.setItem(draftKey(user, taskId), JSON.stringify(draft));
      } catch {
        // Storage full or disabled: the answer still lives in the page.
      }
    },
    load(taskId) {
      try {
        const raw = storage?.getItem(draftKey(user, taskId));
        return raw ? JSON.parse(raw) : null;
      } catch {
        return null;
      }
    },
    clear(taskId) {
      try {
        storage?.removeItem(draftKey(user, taskId));
      } catch {
        // nothing to do
      }
    },
    prune(now) {
      if (!storage) return;
      try {
        for (let i = storage.length - 1; i >= 0; i -= 1) {
          const key = storage.key(i);
          if (!key || !key.startsWith(PREFIX)) continue;
          const savedAt = JSON.parse(storage.getItem(key) || "{}").savedAt || 0;
          if (now - savedAt > DRAFT_TTL_MS) storage.removeItem(key);
        }
      } catch {
        // nothing to do
      }
    },
  };
}

/**
 * Submissions since this tab opened, kept across reloads of the tab.
 * @param {Storage | null} storage sessionStorage
 * @param {string} user
 * @param {string} slug
 */
export function createSessionCount(storage, user, slug) {
  const key = `prefer:session:${user}:${slug}`;
  return {
    load() {
      try {
        return Number(storage?.getItem(key)) || 0;
      } catch {
        return 0;
      }
    },
    /** @param {number} count */
    save(count) {
      try {
        storage?.setItem(key, String(count));
      } catch {
        // nothing to do
      }
    },
  };
}
