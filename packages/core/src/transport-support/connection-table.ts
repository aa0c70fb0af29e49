import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { ConnectionsPerAddress } from './connections-per-address.js';

/** Why a listener refuses a connection (its answer says so; never run, safe to retry elsewhere). */
export type ConnectionRefusal = 'too many connections' | 'too many connections from this address';

/** Options of {@link ConnectionTable}. */
export interface ConnectionTableOptions<K, D = undefined> {
  /** Most open connections: past it, {@link ConnectionTable.over} is true. */
  readonly maxConnections: number;
  /** Most open connections from one remote address; 0 or `Infinity`: no limit. */
  readonly maxConnectionsPerAddress: number;
  /** The clock idle times are measured on. Default: the system clock. */
  readonly clock?: Clock;
  /**
   * For connections that track their own activity instead of reporting it
   * ({@link ConnectionTable.busy}, {@link ConnectionTable.idle}): when `entry` really became
   * idle, on the table's clock, or undefined while it is busy. Read only for connections the
   * table looks at (idle the longest), which then move to their true place.
   */
  readonly idleSince?: (entry: ConnectionEntry<K, D>) => number | undefined;
}

/** The two lists a connection can wait in, oldest first. */
type ListName = 'fresh' | 'idle';

type Entry<K, D> = ConnectionEntry<K, D>;

/**
 * One connection in a {@link ConnectionTable}, from {@link ConnectionTable.add} to
 * {@link ConnectionTable.delete}, with what the adapter keeps for it (`data`).
 */
export class ConnectionEntry<K, D = undefined> {
  /** Requests of the connection being handled now. */
  busy = 0;
  /** Whether a request ever started on it (it left the fresh list). */
  served = false;
  /** Why it was refused, if it was. */
  refusal: ConnectionRefusal | undefined = undefined;
  /** When it was added or last became idle, on the table's clock. */
  since = 0;
  /** @internal The list it is in (none while busy, or once deleted). */
  list: List<ConnectionEntry<K, D>> | undefined = undefined;
  /** @internal */
  previous: ConnectionEntry<K, D> | undefined = undefined;
  /** @internal */
  next: ConnectionEntry<K, D> | undefined = undefined;
  /** @internal Set once deleted: late reports about it are ignored. */
  gone = false;

  constructor(
    /** The connection (a socket, a WebSocket connection…). */
    readonly key: K,
    /** Its remote address (`''` when unknown). */
    readonly address: string,
    /** What the adapter keeps for the connection. */
    public data: D,
  ) {}
}

/** A list of entries linked through them, oldest `since` first. */
class List<E> {
  first: E | undefined = undefined;
  last: E | undefined = undefined;
}

/**
 * The open connections of one listener, for its connection limits, so that idle connections cannot
 * lock callers out: how many are open (`maxConnections`) and from each address
 * (`maxConnectionsPerAddress`), and which are idle since when, for evicting the idlest when full
 * and closing those idle too long. A connection waits in one of two lists, each oldest first:
 * **fresh** (added, no request yet) and **idle** (between requests); a busy one is in neither.
 * Every report (`busy`, `idle`, `delete`) is O(1) and allocates nothing; finding the idlest
 * connection or the expired ones looks only at the oldest entries.
 */
export class ConnectionTable<K, D = undefined> {
  private readonly entries = new Map<K, Entry<K, D>>();
  private readonly perAddress = new ConnectionsPerAddress();
  private readonly lists = { fresh: new List<Entry<K, D>>(), idle: new List<Entry<K, D>>() };
  private readonly clock: Clock;
  private readonly maxPerAddress: number;

  constructor(private readonly options: ConnectionTableOptions<K, D>) {
    this.clock = options.clock ?? systemClock;
    this.maxPerAddress = options.maxConnectionsPerAddress > 0 ? options.maxConnectionsPerAddress : Infinity;
  }

  /** Connections in the table. */
  get size(): number {
    return this.entries.size;
  }

  /** More connections than `maxConnections` are in the table: one must go, or the newest be refused. */
  get over(): boolean {
    return this.entries.size > this.options.maxConnections;
  }

  /** The entry of `key`, if it is in the table. */
  get(key: K): Entry<K, D> | undefined {
    return this.entries.get(key);
  }

  /** The connections in the table, in the order they were added. */
  values(): IterableIterator<Entry<K, D>> {
    return this.entries.values();
  }

  /** Open connections from `address`. */
  count(address: string): number {
    return this.perAddress.count(address);
  }

  /**
   * Adds a new connection, fresh, from `address` (`''` when unknown), with `data` kept for it. A
   * connection past `maxConnectionsPerAddress` is refused (`entry.refusal`); it counts until
   * deleted either way. Whether the table is then {@link over} its size is for the caller to
   * settle (evict or refuse).
   */
  add(key: K, address: string, data: D): Entry<K, D> {
    const entry = new ConnectionEntry(key, address, data);
    this.entries.set(key, entry);
    this.insert(this.lists.fresh, entry, this.clock.now());
    if (this.perAddress.add(address) > this.maxPerAddress)
      entry.refusal = 'too many connections from this address';
    return entry;
  }

  /**
   * Makes room for `entry`, just {@link add}ed, when the table is {@link over}: the first
   * connection one of `victims` finds (asked in order, with `entry`, which they must not return)
   * is deleted and returned for the caller to close; when none finds one, `entry` is refused
   * (`too many connections`). A connection refused per address pushes out no one.
   */
  makeRoom(
    entry: Entry<K, D>,
    victims: readonly ((entry: Entry<K, D>) => Entry<K, D> | undefined)[],
  ): Entry<K, D> | undefined {
    if (entry.refusal !== undefined || !this.over) return undefined;
    for (const find of victims) {
      const victim = find(entry);
      if (victim !== undefined) {
        this.delete(victim);
        return victim;
      }
    }
    entry.refusal = 'too many connections';
    return undefined;
  }

  /** A request started on the connection: it is busy until as many {@link idle} reports. */
  busy(entry: Entry<K, D>): void {
    if (entry.gone) return;
    entry.busy++;
    entry.served = true;
    if (entry.list !== undefined) this.unlink(entry);
  }

  /**
   * A request of the connection ended (`since`: when, by default now); with none left it is idle
   * from then on.
   */
  idle(entry: Entry<K, D>, since = this.clock.now()): void {
    if (entry.gone) return;
    if (entry.busy > 0) entry.busy--;
    if (entry.busy > 0) return;
    if (entry.list !== undefined) this.unlink(entry);
    this.insert(this.lists.idle, entry, since);
  }

  /** The connection closed (or was given up): it no longer counts. Harmless twice. */
  delete(entry: Entry<K, D>): void {
    if (entry.gone || this.entries.get(entry.key) !== entry) return;
    entry.gone = true;
    this.entries.delete(entry.key);
    if (entry.list !== undefined) this.unlink(entry);
    this.perAddress.remove(entry.address);
  }

  /**
   * The connection that has waited in `list` the longest, at least `forMs`, that `accept` takes
   * (default: any); looks at `scan` of them at most. With an `idleSince` option, connections
   * active since they were listed first move to their place.
   */
  first(
    list: ListName,
    forMs = 0,
    accept?: (entry: Entry<K, D>) => boolean,
    scan = Infinity,
  ): Entry<K, D> | undefined {
    let found: Entry<K, D> | undefined;
    this.walk(list, forMs, scan, (entry) => {
      if (accept !== undefined && !accept(entry)) return false;
      found = entry;
      return true;
    });
    return found;
  }

  /**
   * Calls `visit` for every connection that has waited in `list` for `forMs` or longer, oldest
   * first. `visit` may delete it; one it keeps is visited again by the next call.
   */
  expired(list: ListName, forMs: number, visit: (entry: Entry<K, D>) => void): void {
    this.walk(list, forMs, Infinity, (entry) => {
      visit(entry);
      return false;
    });
  }

  /**
   * Runs {@link expired} on `list` every quarter of `forMs` (10 ms to 1 s) on the table's clock,
   * after `before` if given, until the returned function is called: a listener's idle sweep. A
   * `forMs` that is not a positive finite number sweeps nothing.
   */
  sweep(list: ListName, forMs: number, visit: (entry: Entry<K, D>) => void, before?: () => void): () => void {
    if (!(forMs > 0 && forMs < Infinity)) return () => {};
    const everyMs = Math.min(1_000, Math.max(10, Math.floor(forMs / 4)));
    let timer: TimerHandle | undefined;
    const tick = () => {
      before?.();
      this.expired(list, forMs, visit);
      if (timer !== undefined) timer = this.clock.setTimeout(tick, everyMs);
    };
    timer = this.clock.setTimeout(tick, everyMs);
    return () => {
      timer?.cancel();
      timer = undefined;
    };
  }

  /**
   * The walk of {@link first} and {@link expired}: `visit` returns true to stop. An entry the
   * `idleSince` option says is busy, or idle since later, moves back (to its place, or as if idle
   * since now while busy) and the walk goes on from where it was.
   */
  private walk(name: ListName, forMs: number, scan: number, visit: (entry: Entry<K, D>) => boolean): void {
    const { idleSince } = this.options;
    const list = this.lists[name];
    const now = this.clock.now();
    const cutoff = now - forMs;
    let entry = list.first;
    let looked = 0;
    while (entry !== undefined && entry.since <= cutoff && looked++ < scan) {
      const next = entry.next;
      if (idleSince !== undefined) {
        const real = idleSince(entry);
        const since = real ?? now;
        if (since > entry.since) {
          const previous = entry.previous;
          this.unlink(entry);
          this.insert(list, entry, since);
          entry = previous === undefined ? list.first : previous.next;
          continue;
        }
        if (real === undefined) {
          entry = next; // busy, and listed as of now already
          continue;
        }
      }
      if (visit(entry)) return;
      entry = next;
    }
  }

  /** Puts `entry` in `list` at its place by `since`, looking from the newest end (O(1) when it is the newest). */
  private insert(chain: List<Entry<K, D>>, entry: Entry<K, D>, since: number): void {
    let after = chain.last;
    while (after !== undefined && after.since > since) after = after.previous;
    entry.since = since;
    entry.list = chain;
    entry.previous = after;
    entry.next = after === undefined ? chain.first : after.next;
    if (after === undefined) chain.first = entry;
    else after.next = entry;
    if (entry.next === undefined) chain.last = entry;
    else entry.next.previous = entry;
  }

  private unlink(entry: Entry<K, D>): void {
    const chain = entry.list!;
    const { previous, next } = entry;
    if (previous === undefined) chain.first = next;
    else previous.next = next;
    if (next === undefined) chain.last = previous;
    else next.previous = previous;
    entry.list = entry.previous = entry.next = undefined;
  }
}
