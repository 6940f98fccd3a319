// @ts-check
// A word-level diff of an original response and its rewrite, for the edit box (the annotator sees what
// changed before submitting). Pure: strings in, parts out; the page puts the parts in as text, never HTML.

/** @typedef {{op: "same" | "add" | "del", text: string}} DiffPart */

/** Above this many token pairs the diff says "replaced" instead of computing an LCS table. */
const MAX_CELLS = 2_000_000;

/** @param {string} text */
export function tokens(text) {
  return text.split(/(\s+)/).filter((token) => token !== "");
}

/**
 * The parts that turn `before` into `after`: kept, added and deleted runs of words (whitespace kept), by
 * the longest common subsequence of their tokens; neighbouring parts of one kind are merged.
 * @param {string} before
 * @param {string} after
 * @returns {DiffPart[]}
 */
export function wordDiff(before, after) {
  const a = tokens(before);
  const b = tokens(after);
  /** @type {DiffPart[]} */
  const parts = [];
  /** @param {DiffPart["op"]} op @param {string} text */
  const push = (op, text) => {
    const last = parts[parts.length - 1];
    if (last && last.op === op) last.text += text;
    else parts.push({ op, text });
  };
  if (a.length * b.length > MAX_CELLS) {
    if (before) push("del", before);
    if (after) push("add", after);
    return parts;
  }
  // lcs[i][j]: length of the LCS of a[i:] and b[j:], in one flat array.
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i * width + j] =
        a[i] === b[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      push("same", a[i]);
      i += 1;
      j += 1;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      push("del", a[i]);
      i += 1;
    } else {
      push("add", b[j]);
      j += 1;
    }
  }
  while (i < a.length) push("del", a[i++]);
  while (j < b.length) push("add", b[j++]);
  return parts;
}
