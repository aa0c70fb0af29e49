import type { Msg } from '@nats-io/transport-node';
import type { ConnectionStatus, DiscoverOptions, TimerHandle } from '@resilient-rpc/core';
import { positiveNumber } from '@resilient-rpc/core/transport';
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
export interface NatsDiscoveryOptions {
  /**
   * How often the client asks the broker which instances serve a subject, ms. An instance that
   * starts is used within one interval; one that leaves is dropped about half a second after a
   * call to it found it gone, and within two to three intervals without calls. Each round
   * costs one small message from the client and one answer (~300 bytes) from every instance.
   * Default 1 000.
   */
  intervalMs?: number;
  /**
   * How long an instance that still holds its subscription but answers neither discovery nor a
   * probe (a hung or overloaded process) is kept, ms. Meanwhile the client's own health (stall
   * suspicion, ejection, breaker) keeps calls away from it and lets it back once it answers, so a
   * pause never makes the instance set flap. Default 30 000.
   */
  forgetAfterMs?: number;
  /**
   * The `$SRV` service name the instances of a subject answer to. Default: the listener's default
   * name for the subject ({@link serviceNameFor}); set it when listeners use `service: { name }`.
   */
  serviceName?: (subject: string) => string;
  /**
   * Most instances used behind one subject; answers announcing more are ignored (a bound on what
   * a misbehaving responder on the broker can make the client open). Default 256.
   */
  maxInstances?: number;
}

const decoder = new TextDecoder();

export const NatsDiscoveryDefaults = {
  intervalMs: 1_000,
  /** Each interval is drawn from ±10 % around `intervalMs`, so that many clients do not ask at once. */
  jitterRatio: 0.2,
  forgetAfterMs: 30_000,
  maxInstances: 256,
  /**
   * A call to an instance answered "no responders" is confirmed by a probe this much later, ms;
   * a second "no responders" drops the instance. The pause lets an instance whose broker node
   * died reconnect (and keep its endpoint), and calls still waiting on a dead one be rescued.
   */
  confirmGoneAfterMs: 500,
} as const;

interface Instance {
  /** The discovery round it last answered (or answered a probe in). */
  lastSeenRound: number;
  probing: boolean;
  /**
   * The number of rounds sent when "no responders" was seen for its subject (its subscription
   * was gone then). A second sighting, or silence through the next round, drops it.
   */
  goneAtRound: number | undefined;
  /** The confirmation probe scheduled after a call saw "no responders". */
  confirm: TimerHandle | undefined;
}

/**
 * Finds the instances behind one service subject and keeps the set current: every interval it
 * publishes `$SRV.PING.<name>` with a reply subject of its own and collects the answers of
 * resilient-rpc listeners that serve this subject (they name their own instance subject in the
 * service metadata). An instance that missed a round, or whose subject answered a call with "no
 * responders", is probed on its instance subject: "no responders" seen twice (or followed by a
 * silent round) means it is gone and it is dropped; silence means it hangs (kept until
 * `forgetAfterMs`, the client's health decides its traffic).
 */
export class InstanceDiscovery implements SharedConnectionOwner {
  private readonly instances = new Map<string, Instance>();
  private readonly intervalMs: number;
  private readonly forgetAfterRounds: number;
  private readonly maxInstances: number;
  private readonly pingSubject: string;
  private readonly stopProbes = new AbortController();
  private readonly reply: { send(subject: string, payload: string): boolean; stop(): void };
  private timer: TimerHandle | undefined;
  private round = 0;
  private announced = '';
  private stopped = false;

  constructor(
    readonly url: string,
    private readonly subject: string,
    private readonly shared: SharedConnection,
    private readonly options: DiscoverOptions,
    settings: NatsDiscoveryOptions,
    private readonly release: () => Promise<void>,
  ) {
    const intervalMs = settings.intervalMs ?? NatsDiscoveryDefaults.intervalMs;
    this.intervalMs = positiveNumber('discovery.intervalMs', intervalMs);
    const forgetAfterMs = settings.forgetAfterMs ?? NatsDiscoveryDefaults.forgetAfterMs;
    this.forgetAfterRounds = Math.max(2, Math.ceil(forgetAfterMs / this.intervalMs));
    this.maxInstances = settings.maxInstances ?? NatsDiscoveryDefaults.maxInstances;
    this.pingSubject = `${SERVICE_API_PREFIX}.PING.${(settings.serviceName ?? serviceNameFor)(subject)}`;
    shared.addOwner(this);
    this.reply = shared.replySubject((msg) => this.onAnswer(msg));
    this.tick();
  }

  /** A connection that (re)opens starts a round at once rather than at the next tick. */
  statusChanged(status: ConnectionStatus): void {
    if (status === 'open' && !this.stopped) this.ask();
  }

  /** Stops asking, forgets the instances and releases the connection. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    for (const instance of this.instances.values()) instance.confirm?.cancel();
    this.reply.stop();
    this.stopProbes.abort();
    this.shared.removeOwner(this);
    void this.release().catch(() => {});
  }

  private tick(): void {
    if (this.stopped) return;
    this.ask();
    const jitter = NatsDiscoveryDefaults.jitterRatio;
    const delayMs = this.intervalMs * (1 - jitter / 2 + this.options.random() * jitter);
    this.timer = this.options.clock.setTimeout(() => this.tick(), delayMs);
  }

  /** One round: drop what stayed silent too long, probe what missed the last round, ask again. */
  private ask(): void {
    // not connected: rounds that cannot be sent do not count
    if (!this.reply.send(this.pingSubject, '')) return;
    let changed = false;
    for (const [instanceSubject, instance] of this.instances) {
      const missed = this.round - instance.lastSeenRound;
      // gone, and silent through a whole round sent since: it did not just reconnect
      if (missed >= this.forgetAfterRounds || this.round - (instance.goneAtRound ?? this.round) >= 1) {
        changed = this.forget(instanceSubject, instance) || changed;
      } else if (missed >= 1 && !instance.probing) {
        this.probe(instanceSubject, instance);
      }
    }
    this.round++;
    if (changed) this.announce();
  }

  private onAnswer(msg: Msg): void {
    if (this.stopped) return;
    const instanceSubject = this.instanceSubjectOf(msg);
    if (instanceSubject === undefined) return;
    const known = this.instances.get(instanceSubject);
    if (known !== undefined) this.seen(known);
    else if (this.instances.size < this.maxInstances) {
      const instance = { lastSeenRound: 0, probing: false, goneAtRound: undefined, confirm: undefined };
      this.instances.set(instanceSubject, this.seen(instance));
      this.announce();
    }
  }

  private seen(instance: Instance): Instance {
    instance.lastSeenRound = this.round;
    instance.goneAtRound = undefined;
    return instance;
  }

  /**
   * The instance subject a discovery answer announces, if it is a resilient-rpc listener of this
   * very subject. Only a subject one token below the service subject is accepted, so that an
   * answer cannot send calls outside the subject space (and permissions) of the service.
   */
  private instanceSubjectOf(msg: Msg): string | undefined {
    try {
      const { type, metadata } = JSON.parse(decoder.decode(msg.data));
      const instanceSubject = metadata[ServiceMetadataKeys.instanceSubject];
      const token = instanceSubject.slice(this.subject.length + 1);
      if (
        type !== ServiceResponseTypes.ping ||
        metadata[ServiceMetadataKeys.subject] !== this.subject ||
        instanceSubject !== `${this.subject}.${token}` ||
        token.includes('.')
      )
        return undefined;
      validateSubject(instanceSubject);
      return instanceSubject;
    } catch {
      return undefined; // a foreign or broken responder
    }
  }

  /** Asks the instance itself (`rpc.ping` on its subject) whether it is gone or only silent. */
  private probe(instanceSubject: string, instance: Instance): void {
    instance.probing = true;
    const bounds = { signal: this.stopProbes.signal, timeoutMs: this.intervalMs };
    this.shared
      .request(this, instanceSubject, PING_REQUEST, undefined, bounds, 0)
      .then(
        // alive: it answers calls, whatever kept its discovery answer away
        () => this.seen(instance),
        (error: unknown) => {
          // "no responders": its subscription is gone (exited, crashed, drained, or its broker
          // node died and it is reconnecting). Seen twice, or followed by a silent round, it is
          // dropped: an instance that only reconnects keeps its endpoint and health history, and
          // calls still waiting on a dead one get time to be rescued by the client first.
          // Anything else (no answer in time) leaves the decision to the client's health checks.
          if (!isNoResponders(error)) return;
          if (instance.goneAtRound === undefined) instance.goneAtRound = this.round;
          else if (this.forget(instanceSubject, instance)) this.announce();
        },
      )
      .finally(() => {
        instance.probing = false;
      });
  }

  /** A call to `subject` got "no responders": if it is an instance, confirm a little later. */
  noResponders(subject: string): void {
    const instance = this.instances.get(subject);
    // (a probe's own "no responders" is judged by the probe)
    if (this.stopped || instance === undefined || instance.probing || instance.confirm !== undefined) return;
    instance.goneAtRound = this.round;
    // (`stop()` and `forget()` cancel the timer)
    instance.confirm = this.options.clock.setTimeout(() => {
      instance.confirm = undefined;
      if (!instance.probing) this.probe(subject, instance);
    }, NatsDiscoveryDefaults.confirmGoneAfterMs);
  }

  /** Drops the instance; false if it was dropped already. */
  private forget(instanceSubject: string, instance: Instance): boolean {
    instance.confirm?.cancel();
    return this.instances.get(instanceSubject) === instance && this.instances.delete(instanceSubject);
  }

  private announce(): void {
    if (this.stopped) return;
    const urls = [...this.instances.keys()].sort().map((subject) => withSubject(this.url, subject));
    const key = urls.join('\n');
    if (key === this.announced) return;
    this.announced = key;
    this.options.update(urls);
  }
}
