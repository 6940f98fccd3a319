// @ts-check
// The API's shapes as the annotate page sees them (annotation/api/serializers.py, annotation/api/errors.py).
// Types only: the modules import them with JSDoc `@import`, so the browser never loads this file.

/**
 * One message of the conversation. `html` is the server's sanitised rendering of `content`.
 * @typedef {object} Message
 * @property {"system" | "user" | "assistant"} role
 * @property {string} content
 * @property {string} html
 */

/**
 * One response to compare. `id` is opaque (used in `ranking` and `ratings`); `html` is sanitised.
 * @typedef {object} TaskResponse
 * @property {string} id
 * @property {string} text
 * @property {string} html
 */

/**
 * A leased comparison: `POST /api/v1/projects/{slug}/tasks/next/` (200) and the `next` of a submission.
 * Responses are in display order (A, B, ...).
 * @typedef {object} Task
 * @property {number} id
 * @property {"scoring" | "pairwise" | "ranking"} kind scoring: one response, rated on the axes
 * @property {{messages: Message[]}} prompt
 * @property {TaskResponse[]} responses
 * @property {string[]} rating_axes
 * @property {number} rating_scale_max
 * @property {string} lease_expires_at ISO 8601
 * @property {number} done annotations this user has submitted in the project
 * @property {boolean} allow_edits annotators may rewrite a response (or write one from scratch)
 * @property {{slug: string, description: string}[]} safety_categories harm categories; empty: no harm flags
 * @property {boolean} dual_preference also ask which response is safer
 */

/**
 * Groups of response ids, best first; ids in one group are tied. Pairwise: `[[a], [b]]` or `[[a, b]]`.
 * @typedef {string[][]} Ranking
 */

/**
 * Scores per response id, then per axis (1..rating_scale_max).
 * @typedef {Record<string, Record<string, number>>} Ratings
 */

/** @typedef {"" | "slight" | "clear" | "strong"} Strength */

/**
 * The body of `POST /api/v1/tasks/{id}/annotations/`. `ranking` is sent whenever the answer is ready
 * ("all bad" without an order: one group of every response). The same `client_token` twice is the same
 * annotation (idempotent).
 * @typedef {object} AnnotationBody
 * @property {Ranking} [ranking]
 * @property {Strength} strength
 * @property {boolean} all_bad
 * @property {Ratings} ratings
 * @property {string} rationale
 * @property {number} time_spent_ms
 * @property {string} client_token
 * @property {{response: string | null, text: string}[]} [edits] rewrites (response null: from scratch)
 * @property {Record<string, {safe: boolean, categories: string[], severity: string}>} [safety] harm flags
 * @property {Ranking} [harmless_ranking] the "which is safer" verdict, safest first
 */

/**
 * The answer to a submission (201 created, 200 the same client_token again); with `?next=1` it carries
 * the next task, leased in the same request (`null` when nothing is left).
 * @typedef {object} AnnotationResult
 * @property {number} id
 * @property {Task | null} [next]
 * @property {import("./gold.js").GoldFeedback} [gold] after a gold item, with the project's gold_feedback
 */

/**
 * `POST /api/v1/tasks/{id}/heartbeat/` (200).
 * @typedef {object} Lease
 * @property {number} id
 * @property {string} lease_expires_at ISO 8601
 */

/**
 * Every 4xx body. `code` is machine-readable (`no_lease`, `lease_lost`, `task_full`, `task_submitted`,
 * `invalid`, ...); `field` names the bad input of a 400 (a dotted path), `errors` holds all of them.
 * @typedef {object} ApiError
 * @property {string} detail
 * @property {string} [code]
 * @property {string} [field]
 * @property {unknown} [errors]
 */

export {};
