/**
 * Resources a client transport shares between its endpoints by key (one connection per server
 * set): the first user of a key opens it, each user releases it once, and the last release closes
 * it. Used by the NATS transport; any transport that multiplexes endpoints over one connection fits.
 */
export class SharedPool<V extends { close(): Promise<unknown> }> {
  private readonly entries = new Map<string, { readonly value: V; refs: number }>();

  /** The resource of `key` (opened by `open` if none is) and its release (call it once). */
  acquire(key: string, open: () => V): { readonly value: V; release(): Promise<void> } {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { value: open(), refs: 0 };
      this.entries.set(key, entry);
    }
    const held = entry;
    held.refs++;
    const release = async () => {
      if (--held.refs <= 0 && this.entries.get(key) === held) {
        this.entries.delete(key);
        await held.value.close();
      }
    };
    return { value: held.value, release };
  }

  /** Closes every resource, in use or not (the transport closes); later releases do nothing. */
  async closeAll(): Promise<void> {
    const values = [...this.entries.values()].map(({ value }) => value);
    this.entries.clear();
    await Promise.all(values.map((value) => value.close()));
  }
}
