// Named snapshots on disk (replay/snapshot_file.ts): a U-Boot machine's
// snapshot file is compact (only its non-zero pages, compressed), restores
// to the same state hash, and a truncated, corrupted, other-version,
// other-configuration or other-log file is refused with an error that says
// what is wrong and where.

import { equal, ok, throws } from "node:assert/strict";
import { VirtMachine } from "../devices/virt.ts";
import { LogRecorder } from "../replay/machine_log.ts";
import type { ReplayConfig } from "../replay/log.ts";
import {
  crc32,
  decodeSnapshotFile,
  encodeSnapshotFile,
  logIdentity,
  SnapshotFileError,
  snapshotPath,
} from "../replay/snapshot_file.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const options = {
  bios: await Deno.readFile(FW_JUMP),
  kernel: await Deno.readFile(UBOOT_S),
  hostClock: () => 1_700_000_000_000_000_000n,
};
const config = { memoryBytes: 128 << 20, bios: "fw_jump.elf" };

Deno.test("a U-Boot snapshot file is compact and restores to the same state hash; bad files are refused naming the problem", async () => {
  const m = new VirtMachine(options);
  m.run(20_000_000, { warpIdle: true });
  const want = await m.stateHash();
  // The log's identity: its header and configuration event, which a
  // recording writes first; the same for the whole log.
  const chunks: Uint8Array[] = [];
  const logConfig: ReplayConfig = {
    board: "virt",
    ramSize: 128 << 20,
    firmware: null,
    kernel: null,
    devices: [],
    plugins: [],
  };
  const rec = new LogRecorder(
    { write: (b) => chunks.push(b.slice()) },
    logConfig,
  );
  const head = chunks.slice();
  const joined = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
    parts.reduce((at, b) => (out.set(b, at), at + b.length), 0);
    return out;
  };
  rec.finish("guest", 0);
  const log = logIdentity(joined(head));
  equal(logIdentity(joined(chunks)), log);
  throws(
    () => logIdentity(new TextEncoder().encode("a log")),
    /Cannot identify the replay log: it does not start with a header/,
  );
  const info = { name: "boot", icount: m.cpu.icount, config, log };
  const bytes = encodeSnapshotFile(m.saveSnapshot(), info);
  ok(
    bytes.length < m.bus.ramSize / 20,
    `${bytes.length} bytes for ${m.bus.ramSize} bytes of RAM`,
  );

  const back = decodeSnapshotFile(bytes, { config, log });
  equal(back.info.icount, 20_000_000);
  const fresh = new VirtMachine(options);
  fresh.restoreSnapshot(back.snapshot);
  equal(await fresh.stateHash(), want);

  // Cut short anywhere: refused.
  for (const cut of [5, 40, 300, bytes.length - 3, bytes.length - 1000]) {
    throws(
      () => decodeSnapshotFile(bytes.subarray(0, cut)),
      (e: Error) =>
        e instanceof SnapshotFileError &&
        /cut short|not a deja snapshot|length is|header/.test(e.message),
    );
  }
  // A flipped byte in the RAM section: its offset is named.
  const bad = bytes.slice();
  const at = bytes.length - 5000;
  bad[at]! ^= 0x40;
  throws(
    () => decodeSnapshotFile(bad, { path: "x.djsnap" }),
    /^SnapshotFileError: Cannot load the snapshot x\.djsnap: it is corrupt: the section at byte \d+ \(tag 6, bytes \d+ to \d+\) does not match its checksum/,
  );
  // Another configuration, another log, another version.
  throws(
    () =>
      decodeSnapshotFile(bytes, {
        config: { ...config, memoryBytes: 64 << 20 },
      }),
    /another machine configuration \(memoryBytes: the snapshot has 134217728, this machine 67108864\)/,
  );
  throws(
    () => decodeSnapshotFile(bytes, { log: "0".repeat(64) }),
    /belongs to another recording/,
  );
  // Version 1 files (log identity of the first 64 KiB): refused, with the fix.
  const v1 = bytes.slice();
  v1[4] = 1;
  throws(
    () => decodeSnapshotFile(v1),
    /format version 1, and this build reads version 2; take the snapshot again/,
  );
  throws(
    () => decodeSnapshotFile(new Uint8Array(100)),
    /not a deja snapshot file/,
  );
});

Deno.test("snapshot files live beside the log; names are plain file names", () => {
  equal(snapshotPath("/tmp/a.rr", "init"), "/tmp/a.rr.snapshots/init.djsnap");
  throws(
    () => snapshotPath("/tmp/a.rr", "../x"),
    /Cannot use "\.\.\/x" as a snapshot name/,
  );
  equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});
