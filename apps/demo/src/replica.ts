/**
 * A demo replica as a child process of the orchestrator (`cli.ts`). It serves the example
 * service, prints `READY <json>` on stdout once it listens, writes one `EXEC <id>` line per
 * execution of a non-idempotent call synchronously (so the log survives a SIGKILL), and takes
 * fault switches and counter requests over IPC. It exits when its parent goes away.
 *
 * argv: --transport http|ws|nats --port P [--nats-url U] [--subject S]
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isTransportName } from './listeners.js';
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

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'http' },
    port: { type: 'string', default: '0' },
    'nats-url': { type: 'string' },
    subject: { type: 'string' },
  },
});
const transport = values.transport ?? 'http';
if (!isTransportName(transport)) throw new Error(`unknown transport ${transport}`);

const replica = await startReplicaServer(
  {
    transport,
    port: Number(values.port ?? 0),
    ...(values['nats-url'] !== undefined && { natsUrl: values['nats-url'] }),
    ...(values.subject !== undefined && { subject: values.subject }),
  },
  { onExecute: (id) => writeSync(1, `EXEC ${id}\n`) },
);

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

writeSync(1, `READY ${JSON.stringify({ url: replica.url, pid: process.pid })}\n`);
