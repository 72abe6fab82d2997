/**
 * Byte helpers of the replay layer, public so that tests and the bench need
 * no internal file.
 *
 * @module
 */

/**
 * Join byte arrays into one, in order.
 *
 * @param parts the arrays
 * @returns a new array holding all their bytes
 * @example Join two chunks of a log
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * console.log(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])])); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
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
