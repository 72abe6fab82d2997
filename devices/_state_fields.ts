/**
 * Checked reads of the fields of a device's saved state (the plain objects
 * that `saveState` returns and `loadState` takes), shared by the built-in
 * devices. A field of the wrong type is a `TypeError` that names the device
 * and the field.
 *
 * @module
 */

/** A device's saved state: named numbers, decimal strings and word lists. */
export type SavedFields = Record<string, number | string | number[]>;

function fail(device: string, key: string, expected: string): never {
  throw new TypeError(
    `Cannot load ${device} state: field ${key} is not ${expected}`,
  );
}

/** A finite number. */
export function numField(device: string, s: SavedFields, key: string): number {
  const v = s[key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    fail(device, key, "a finite number");
  }
  return v;
}

/** A u64 saved as a decimal string. */
export function u64Field(device: string, s: SavedFields, key: string): bigint {
  const v = s[key];
  if (typeof v !== "string" || !/^[0-9]+$/.test(v)) {
    fail(device, key, "a decimal string");
  }
  return BigInt.asUintN(64, BigInt(v));
}

/** Exactly `length` unsigned 32-bit words. */
export function wordsField(
  device: string,
  s: SavedFields,
  key: string,
  length: number,
): number[] {
  const v = s[key];
  if (
    !Array.isArray(v) || v.length !== length ||
    !v.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)
  ) {
    fail(device, key, `${length} unsigned 32-bit words`);
  }
  return v;
}

/** An array of bytes. */
export function bytesField(
  device: string,
  s: SavedFields,
  key: string,
): number[] {
  const v = s[key];
  if (
    !Array.isArray(v) ||
    !v.every((b) => Number.isInteger(b) && b >= 0 && b <= 0xff)
  ) {
    fail(device, key, "an array of bytes");
  }
  return v;
}
