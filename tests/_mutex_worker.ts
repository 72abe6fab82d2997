// Internal: a worker for tests/mutex_test.ts. It takes the replay mutex
// `iterations` times; under it, it increments a shared counter with a plain
// (non-atomic) read, a pause and a write, and appends its ticket to a shared
// list, so that the test can check mutual exclusion and FIFO order.

import { ReplayMutex } from "../replay/mutex.ts";

interface Job {
  mutex: SharedArrayBuffer;
  shared: SharedArrayBuffer;
  owner: number;
  iterations: number;
}

const self = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(m: unknown): void;
};

self.onmessage = (e) => {
  const { owner, iterations } = e.data;
  const mutex = new ReplayMutex(e.data.mutex, { owner });
  // shared[0]: counter; shared[1]: list length; shared[2 + i]: tickets served.
  const shared = new Int32Array(e.data.shared);
  let sink = 0;
  let violations = 0;
  const tickets: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const ticket = mutex.lock();
    tickets.push(ticket);
    if (!mutex.isHeldByMe()) violations++;
    const v = shared[0]!;
    for (let k = 0; k < 50; k++) sink += k * v; // widen the race window
    shared[0] = v + 1;
    const n = shared[1]!;
    if (n + 2 < shared.length) shared[n + 2] = ticket;
    shared[1] = n + 1;
    mutex.unlock();
  }
  self.postMessage({ owner, violations, tickets, sink: sink & 1 });
};
