/**
 * The text the model sees for a ticket (docs/model-contract.md, "Text"):
 * `subject.trim() + "\n" + body` when the subject is non-empty, else `body`.
 * Training applies exactly the same join.
 */
export function ticketText(subject: string | undefined, body: string): string {
  const s = (subject ?? '').trim();
  return s.length > 0 ? `${s}\n${body}` : body;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces lone UTF-16 surrogates with U+FFFD (like ES2024 `String.prototype.toWellFormed`). */
export function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}
