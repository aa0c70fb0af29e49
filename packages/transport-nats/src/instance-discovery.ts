import type { Msg } from '@nats-io/transport-node';
import type { DiscoverOptions } from '@resilient-rpc/core';
import {
  DiscoveryRounds,
  type DiscoverySource,
  type OptionsOf,
  positiveNumber,
  withDefaults,
} from '@resilient-rpc/core/transport';
import {
  SERVICE_API_PREFIX,
  ServiceMetadataKeys,
  ServiceResponseTypes,
  serviceNameFor,
} from './discovery.js';
import { isNoResponders } from './map-error.js';
import { PING_REQUEST, type SharedConnection, type SharedConnectionOwner } from './shared-connection.js';
import { validateSubject, withSubject } from './url.js';

/** Options of the client's instance discovery (`natsTransport({ discovery })`). */
export interface NatsDiscoveryOptions
  extends OptionsOf<Pick<typeof NatsDiscoveryDefaults, 'intervalMs' | 'forgetAfterMs' | 'maxInstances'>> {
  /**
   * The `$SRV` service name the instances of a subject answer to. Default: the listener's default
   * name for the subject ({@link serviceNameFor}); set it when listeners use `service: { name }`.
   */
  serviceName?: (subject: string) => string;
}

const decoder = new TextDecoder();

export const NatsDiscoveryDefaults = {
  /**
   * How often the client asks the broker which instances serve a subject, ms. An instance that
   * starts is used within one interval; one that leaves is dropped about half a second after a
   * call to it found it gone, and within two to three intervals without calls. Each round
   * costs one small message from the client and one answer (~300 bytes) from every instance.
   */
  intervalMs: 1_000,
  /** Each interval is drawn from ±10 % around `intervalMs`, so that many clients do not ask at once. */
  jitterRatio: 0.2,
  /**
   * How long an instance that still holds its subscription but answers neither discovery nor a
   * probe (a hung or overloaded process) is kept, ms; at least two intervals, whatever is set.
   * Meanwhile the client's own health (stall suspicion, ejection, breaker) keeps calls away from
   * it and lets it back once it answers, so a pause never makes the instance set flap.
   */
  forgetAfterMs: 30_000,
  /**
   * Most instances used behind one subject; answers announcing more are ignored (a bound on what
   * a misbehaving responder on the broker can make the client open).
   */
  maxInstances: 256,
  /**
   * A call to an instance answered "no responders" is confirmed by a probe this much later, ms;
   * a second "no responders" drops the instance. The pause lets an instance whose broker node
   * died reconnect (and keep its endpoint), and calls still waiting on a dead one be rescued.
   */
  confirmGoneAfterMs: 500,
} as const;

export type DiscoverySettings = ReturnType<typeof discoverySettings>;

/**
 * Resolves and checks `natsTransport({ discovery })` once (a `RangeError` names a bad value). An
 * interval is a timer's delay (finite); `forgetAfterMs` and `maxInstances` may be `Infinity`. A
 * `forgetAfterMs` below two intervals is fine: an instance is kept through two missed rounds anyway.
 */
export function discoverySettings(options: NatsDiscoveryOptions) {
  const settings = withDefaults(NatsDiscoveryDefaults, options);
  positiveNumber('natsTransport: discovery.intervalMs', settings.intervalMs, { finite: true });
  positiveNumber('natsTransport: discovery.forgetAfterMs', settings.forgetAfterMs);
  positiveNumber('natsTransport: discovery.maxInstances', settings.maxInstances, { whole: true });
  return settings;
}

/**
 * Keeps the instances behind one service subject current ({@link DiscoveryRounds}): each round
 * publishes `$SRV.PING.<name>` and collects the instance subjects resilient-rpc listeners of this
 * subject announce. A probe (`rpc.ping` on the instance subject) answered "no responders" means the
 * instance is gone (exited, crashed, drained, or its broker node died and it is reconnecting);
 * silence means it hangs. Returns its `stop`, which also releases the connection.
 */
export function discoverInstances(
  url: string,
  subject: string,
  shared: SharedConnection,
  { clock, random, update }: DiscoverOptions,
  settings: DiscoverySettings,
  release: () => Promise<void>,
): () => void {
  const pingSubject = `${SERVICE_API_PREFIX}.PING.${(settings.serviceName ?? serviceNameFor)(subject)}`;
  const owner: SharedConnectionOwner = {
    url,
    // A connection that (re)opens starts a round at once rather than at the next tick.
    statusChanged: (status) => {
      if (status === 'open') rounds.ask();
    },
    // A call to `subject` got "no responders": if it is an instance, confirm a little later.
    noResponders: (instanceSubject) => rounds.suspectGone(instanceSubject),
  };
  const source: DiscoverySource = {
    ask: () => reply.send(pingSubject, ''),
    probe: (instanceSubject, bounds) =>
      shared.request(owner, instanceSubject, PING_REQUEST, undefined, bounds, 0).then(
        () => 'alive' as const,
        (error: unknown) => (isNoResponders(error) ? 'gone' : 'silent'),
      ),
    update: (subjects) => update(subjects.map((instanceSubject) => withSubject(url, instanceSubject))),
  };
  const { jitterRatio, confirmGoneAfterMs } = NatsDiscoveryDefaults;
  const timing = { ...settings, clock, random, jitterRatio, confirmGoneAfterMs };
  const rounds = new DiscoveryRounds(source, { ...timing, maxMembers: settings.maxInstances });
  shared.addOwner(owner);
  const reply = shared.replySubject((msg) => {
    const instanceSubject = instanceSubjectOf(subject, msg);
    if (instanceSubject !== undefined) rounds.seen(instanceSubject);
  });
  rounds.start();
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    rounds.stop();
    reply.stop();
    shared.removeOwner(owner);
    void release().catch(() => {});
  };
}

/**
 * The instance subject a discovery answer announces, if it is a resilient-rpc listener of this
 * very subject. Only a subject one token below the service subject is accepted, so that an
 * answer cannot send calls outside the subject space (and permissions) of the service.
 */
function instanceSubjectOf(subject: string, msg: Msg): string | undefined {
  try {
    const { type, metadata } = JSON.parse(decoder.decode(msg.data));
    const instanceSubject = metadata[ServiceMetadataKeys.instanceSubject];
    const token = instanceSubject.slice(subject.length + 1);
    if (
      type !== ServiceResponseTypes.ping ||
      metadata[ServiceMetadataKeys.subject] !== subject ||
      instanceSubject !== `${subject}.${token}` ||
      token.includes('.')
    )
      return undefined;
    validateSubject(instanceSubject);
    return instanceSubject;
  } catch {
    return undefined; // a foreign or broken responder
  }
}
