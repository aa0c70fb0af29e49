/**
 * A demo replica as a child process of the orchestrator (`cli.ts`). It serves the example
 * service, prints `READY <json>` on stdout once it listens, writes one `EXEC <id>` line per
 * execution of a non-idempotent call synchronously (so the log survives a SIGKILL), and takes
 * fault switches and counter requests over IPC. It exits when its parent goes away.
 *
 * argv: --listen URL (`http://127.0.0.1:0/rpc`, `ws://…`, `nats://host:4222/<subject>`)
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startReplicaServer } from './replica-server.js';

/** Messages from the orchestrator. */
export type ToReplica =
  | { type: 'fault'; failRate?: number; delayMs?: number }
  | { type: 'counters'; requestId: number };

/** Messages to the orchestrator. */
export type FromReplica = {
  type: 'counters';
  requestId: number;
  calls: number;
  injectedFailures: number;
  chargesExecuted: number;
  charges: Record<string, number>;
};

const { values } = parseArgs({ options: { listen: { type: 'string' } } });
if (values.listen === undefined) throw new Error('--listen URL is required');

const replica = await startReplicaServer([values.listen], {
  onExecute: (id) => writeSync(1, `EXEC ${id}\n`),
});

process.on('message', (message: ToReplica) => {
  if (message.type === 'fault') {
    replica.service.setFault(message);
  } else if (message.type === 'counters') {
    const { calls, injectedFailures, chargesExecuted, charges } = replica.service.counters;
    const reply: FromReplica = {
      type: 'counters',
      requestId: message.requestId,
      calls,
      injectedFailures,
      chargesExecuted,
      charges,
    };
    process.send?.(reply);
  }
});
// Never outlive the orchestrator.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  void replica.close().finally(() => process.exit(0));
});

writeSync(1, `READY ${JSON.stringify({ url: replica.urls[0], pid: process.pid })}\n`);
