/** `pnpm demo serve`: one standalone replica of the example service, until Ctrl-C. */
import { startReplicaServer } from './replica-server.js';

export async function serve(listenUrls: readonly string[]): Promise<void> {
  const replica = await startReplicaServer(listenUrls);
  process.stdout.write(
    `serving the example service on ${replica.urls.join(' ')} (pid ${process.pid})\n` +
      'methods: echo(x), add(a, b) positional or named, sleep(ms), work(ms), charge(id, amount),\n' +
      '         demo.stats(), demo.fault(failRate, delayMs) to make this replica faulty or slow\n' +
      'Ctrl-C to stop (drains in-flight calls first)\n',
  );
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    void replica.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
