// The API client's pure parts (static/annotate/api.js): Retry-After read into a bounded retry delay.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createApi, retryDelay } from "../../static/annotate/api.js";

test("the retry delay follows Retry-After within bounds, else 5 s", () => {
  assert.equal(retryDelay(5), 5);
  assert.equal(retryDelay(0), 1);
  assert.equal(retryDelay(3600), 60);
  assert.equal(retryDelay(Number.NaN), 5);
});

test("a 503 reply carries its Retry-After and error body", async () => {
  const fetch = async () =>
    new Response(JSON.stringify({ detail: "briefly unavailable", code: "unavailable" }), {
      status: 503,
      headers: { "Content-Type": "application/json", "Retry-After": "7" },
    });
  const api = createApi(
    { next: "/n/", annotations: "/t/0/a/", skip: "/t/0/s/", heartbeat: "/t/0/h/" },
    { fetch, cookie: () => "csrftoken=x" },
  );
  const reply = await api.submit(3, /** @type {any} */ ({}));
  assert.equal(reply.status, 503);
  assert.equal(reply.retryAfter, 7);
  assert.equal(reply.error?.code, "unavailable");
  assert.equal(reply.body, null);
});
