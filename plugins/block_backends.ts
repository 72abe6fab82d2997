/**
 * Block backends: the host side of a `-drive`. Opens the image file,
 * reads it as raw or qcow2 (`devices/block_image.ts`), and decides where
 * guest writes go: into the file (a plain run of a writable raw image) or
 * into an in-memory overlay that leaves the file unchanged (`snapshot=on`,
 * and always under record and replay, where the image's identity, its size
 * and SHA-256, goes into the log's configuration).
 *
 * The reads are synchronous (`Deno.FsFile.readSync`): a request completes at
 * the guest's notify, on the vCPU's thread.
 *
 * @module
 */

import {
  type BlockImage,
  DiskImageError,
  OverlayImage,
  qcow2Image,
  rawImage,
} from "../devices/block_image.ts";

export { DiskImageError };

/** A `-drive` as the command line gives it. */
export interface DriveSpec {
  /** The image file. */
  file: string;
  /**
   * `raw` or `qcow2`.
   *
   * @default {"raw"}
   */
  format?: "raw" | "qcow2";
  /** Refuse guest writes. */
  readonly?: boolean;
  /** Keep writes in memory; the file stays unchanged. */
  snapshot?: boolean;
}

/** An image's identity, as a replay log's configuration names it. */
export interface ImageIdentity {
  /** The file's size in bytes. */
  size: number;
  /** SHA-256 of the file, hexadecimal. */
  sha256: string;
}

/** An opened drive. */
export interface OpenedDrive {
  /** What the block device reads and writes. */
  readonly image: BlockImage;
  /** Whether writes go to an overlay (the file stays unchanged). */
  readonly overlay: boolean;
  /** Close the file. */
  close(): void;
}

/**
 * Open a drive's image.
 *
 * @param spec the drive
 * @param keepUnchanged force an overlay (record and replay)
 * @returns the drive
 * @throws {DiskImageError} if the file cannot be opened or read as its
 *   format
 * @example Open a raw image with an overlay
 * ```ts
 * import { openDrive } from "./block_backends.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, new Uint8Array(1024).fill(3));
 * const d = openDrive({ file: path, format: "raw" }, true);
 * d.image.write!(0, new Uint8Array(512));
 * d.close();
 * console.log(Deno.readFileSync(path)[0]); // 3
 * ```
 */
export function openDrive(spec: DriveSpec, keepUnchanged = false): OpenedDrive {
  const format = spec.format ?? "raw";
  const overlay = keepUnchanged || (spec.snapshot ?? false);
  const writeThrough = !overlay && !spec.readonly;
  if (format === "qcow2" && writeThrough) {
    throw new DiskImageError(
      `Cannot open ${spec.file} for writing: deja reads qcow2 images but does not write them; add snapshot=on (writes kept in memory) or readonly=on, or convert it with qemu-img convert -O raw`,
    );
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(spec.file, { read: true, write: writeThrough });
  } catch (e) {
    throw new DiskImageError(
      `Cannot open the drive image ${spec.file}: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  }
  try {
    const size = file.statSync().size;
    const readAt = (offset: number, out: Uint8Array): number => {
      file.seekSync(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < out.length) {
        const n = file.readSync(out.subarray(done));
        if (n === null || n === 0) break;
        done += n;
      }
      return done;
    };
    let image: BlockImage;
    if (format === "qcow2") image = qcow2Image(readAt, size, spec.file);
    else {
      if (size % 512 !== 0) {
        throw new DiskImageError(
          `Cannot use ${spec.file} as a raw disk: its ${size} bytes are not a whole number of 512-byte sectors; pad it (truncate -s %512)`,
        );
      }
      image = rawImage(
        readAt,
        size,
        writeThrough
          ? (offset, data) => {
            file.seekSync(offset, Deno.SeekMode.Start);
            let done = 0;
            while (done < data.length) {
              done += file.writeSync(data.subarray(done));
            }
          }
          : undefined,
      );
    }
    return {
      image: overlay ? new OverlayImage(image) : image,
      overlay,
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * An image file's identity: its size and SHA-256 (read whole).
 *
 * @param path the file
 * @returns the identity
 * @throws {DiskImageError} if it cannot be read
 * @example
 * ```ts
 * import { imageIdentity } from "./block_backends.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, new Uint8Array(512));
 * console.log((await imageIdentity(path)).size); // 512
 * ```
 */
export async function imageIdentity(path: string): Promise<ImageIdentity> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new DiskImageError(
      `Cannot read the drive image ${path}: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return {
    size: bytes.length,
    sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(
      "",
    ),
  };
}
