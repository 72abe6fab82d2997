// Byte helpers shared by the replay modules (and their tests and bench).

/**
 * Join byte arrays into one, in order.
 *
 * @param parts the arrays
 * @returns a new array holding all their bytes
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
