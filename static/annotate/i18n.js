// @ts-check
// Strings the script shows, translated by the template (one catalog serves the page and its script):
// `<template id="i18n"><span data-k="key">text with {placeholders}</span>...</template>`.

/** @typedef {Record<string, string>} Strings */
/** @typedef {Record<string, string | number>} Vars */
/**
 * `t(key, vars, fallback)`: the text of `key` with its `{placeholders}` filled; an unknown key gives
 * `fallback`, or the key itself.
 * @typedef {(key: string, vars?: Vars, fallback?: string) => string} Translate
 */

/**
 * @param {HTMLTemplateElement} template
 * @returns {Strings}
 */
export function readStrings(template) {
  /** @type {Strings} */
  const strings = {};
  for (const node of template.content.querySelectorAll("[data-k]")) {
    if (node instanceof HTMLElement && node.dataset.k) strings[node.dataset.k] = (node.textContent || "").trim();
  }
  return strings;
}

/**
 * @param {Strings} strings
 * @returns {Translate}
 */
export function translator(strings) {
  return (key, vars, fallback) => fill(strings[key] ?? fallback ?? key, vars);
}

/**
 * @param {string} text
 * @param {Vars} [vars]
 */
export function fill(text, vars) {
  if (vars) for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/**
 * A translated template cut at its `{placeholders}`: text parts at even indexes, placeholder names at odd
 * ones (so that translators can move the key caps of "{r} rate · {digits} score").
 * @param {string} template
 * @returns {string[]}
 */
export function splitPlaceholders(template) {
  return template.split(/\{(\w+)\}/);
}
