import assert from "node:assert/strict";
import { REPLAY_MUTEX_BYTES, ReplayMutex } from "../replay/mutex.ts";
import { ReplayLogReader, ReplayLogWriter } from "../replay/log.ts";

interface Report {
  owner: number;
  violations: number;
  tickets: number[];
}

function startWorker(
  mutex: ReplayMutex,
  shared: SharedArrayBuffer,
  owner: number,
  iterations: number,
): { worker: Worker; done: Promise<Report> } {
  const worker = new Worker(
    new URL("./_mutex_worker.ts", import.meta.url),
    { type: "module" },
  );
  const done = new Promise<Report>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<Report>) => resolve(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(e.message));
    };
  });
  worker.postMessage({ mutex: mutex.buffer, shared, owner, iterations });
  return { worker, done };
}

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 1));
}

Deno.test("ReplayMutex keeps three workers' non-atomic increments exact", async () => {
  const mutex = new ReplayMutex(undefined, { owner: 1 });
  const iterations = 20_000;
  const shared = new SharedArrayBuffer(4 * (2 + 3 * iterations));
  const workers = [2, 3, 4].map((owner) =>
    startWorker(mutex, shared, owner, iterations)
  );
  try {
    const reports = await Promise.all(workers.map((w) => w.done));
    const words = new Int32Array(shared);
    assert.equal(words[0], 3 * iterations, "the counter lost increments");
    assert.equal(words[1], 3 * iterations);
    for (const r of reports) {
      assert.equal(r.violations, 0, `owner ${r.owner} saw itself not holding`);
    }
    // Tickets were served in the order they were handed out: the list of
    // tickets seen in the critical section is 0, 1, 2, ...
    const served = words.subarray(2, 2 + 3 * iterations);
    for (let i = 0; i < served.length; i++) {
      if (served[i] !== i) {
        assert.fail(`ticket ${served[i]} was served in place ${i}`);
      }
    }
    assert.equal(mutex.queued, 0);
    assert.equal(mutex.isHeldByMe(), false);
  } finally {
    for (const w of workers) w.worker.terminate();
  }
});

Deno.test("ReplayMutex serves waiting threads first come, first served", async () => {
  const mutex = new ReplayMutex(undefined, { owner: 1 });
  const shared = new SharedArrayBuffer(4 * 8);
  await mutex.lockAsync();
  const started: ReturnType<typeof startWorker>[] = [];
  try {
    // Queue workers 2, 3, 4 in that order behind the main thread.
    for (const owner of [2, 3, 4]) {
      const before = mutex.queued;
      started.push(startWorker(mutex, shared, owner, 1));
      await waitFor(() => mutex.queued === before + 1);
    }
    assert.equal(mutex.queued, 4);
    assert.equal(new Int32Array(shared)[0], 0, "a worker ran while locked");
    mutex.unlock();
    const reports = await Promise.all(started.map((s) => s.done));
    const order = [...new Int32Array(shared).subarray(2, 5)].map((t) =>
      reports.find((r) => r.tickets[0] === t)!.owner
    );
    assert.deepEqual(order, [2, 3, 4]);
  } finally {
    for (const s of started) s.worker.terminate();
  }
});

Deno.test("ReplayMutex.lockAsync takes turns with a hammering worker", async () => {
  const mutex = new ReplayMutex(undefined, { owner: 1 });
  const iterations = 20_000;
  const shared = new SharedArrayBuffer(4 * 2);
  const w = startWorker(mutex, shared, 2, iterations);
  const words = new Int32Array(shared);
  try {
    let mine = 0;
    let finished = false;
    w.done.then(() => (finished = true));
    while (!finished || mine < 50) {
      await mutex.lockAsync();
      const v = words[0]!;
      await Promise.resolve(); // yield inside the critical section
      words[0] = v + 1;
      words[1] = words[1]! + 1;
      mine++;
      mutex.unlock();
      // Let the worker's final message in (a free lock never yields).
      if (mine % 16 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await w.done;
    assert.equal(words[0], iterations + mine);
    assert.ok(mine >= 50);
  } finally {
    w.worker.terminate();
  }
});

Deno.test("ReplayMutex rejects misuse with clear errors", async (t) => {
  await t.step("unlock without holding", () => {
    const m = new ReplayMutex();
    assert.throws(
      () => m.unlock(),
      /not held by this thread \(owner 1; nobody holds it\)/,
    );
  });
  await t.step("lock twice", () => {
    const m = new ReplayMutex();
    m.lock();
    assert.throws(() => m.lock(), /holds it already/);
    m.unlock();
  });
  await t.step("assertHeld names the holder", () => {
    const a = new ReplayMutex(undefined, { owner: 1 });
    const b = new ReplayMutex(a.buffer, { owner: 2 });
    a.lock();
    assert.throws(
      () => b.assertHeld("write the replay log"),
      /^Error: Cannot write the replay log: the replay mutex is not held by this thread \(owner 2; owner 1 holds it\)$/,
    );
    a.unlock();
  });
  await t.step("bad buffer and owner", () => {
    assert.throws(
      () => new ReplayMutex(new SharedArrayBuffer(4)),
      RangeError,
    );
    assert.throws(
      () =>
        new ReplayMutex(new SharedArrayBuffer(REPLAY_MUTEX_BYTES), {
          owner: 0,
        }),
      RangeError,
    );
  });
});

Deno.test("ReplayLogWriter and ReplayLogReader with assertHeld touch the log only under the mutex", () => {
  const mutex = new ReplayMutex(undefined, { owner: 2 });
  const held = () => mutex.assertHeld("access the replay log");
  const chunks: Uint8Array[] = [];
  assert.throws(
    () =>
      new ReplayLogWriter({ write: (b) => chunks.push(b) }, {
        assertHeld: held,
      }),
    /Cannot access the replay log: the replay mutex is not held/,
  );
  mutex.lock();
  const w = new ReplayLogWriter({ write: (b) => chunks.push(b) }, {
    assertHeld: held,
  });
  w.instruction(10);
  mutex.unlock();
  assert.throws(() => w.instruction(1), /not held/);
  assert.throws(
    () => w.write({ kind: "checkpoint", checkpoint: "init" }),
    /not held/,
  );
  assert.throws(() => w.end(), /not held/);
  mutex.lock();
  w.end();
  mutex.unlock();
  const log = new Uint8Array(chunks.flatMap((c) => [...c]));
  const r = new ReplayLogReader(log, { assertHeld: held });
  assert.throws(() => r.next(), /not held/);
  mutex.lock();
  assert.equal(r.next()?.kind, "instruction");
  assert.equal(r.next()?.kind, "end");
  mutex.unlock();
});
