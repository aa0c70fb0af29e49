/**
 * Open connections per remote address, for a listener's `maxConnectionsPerAddress`: each
 * connection is added when it arrives and removed once when it closes; an address with none left
 * is forgotten, so the map holds only addresses with open connections.
 */
export class ConnectionsPerAddress {
  private readonly counts = new Map<string, number>();

  /** Open connections from `address`. */
  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  /** Counts one more connection from `address`; returns how many are open from it now. */
  add(address: string): number {
    const count = this.count(address) + 1;
    this.counts.set(address, count);
    return count;
  }

  /** A connection from `address` closed. */
  remove(address: string): void {
    const left = this.count(address) - 1;
    if (left <= 0) this.counts.delete(address);
    else this.counts.set(address, left);
  }

  /** Addresses with open connections. */
  get addresses(): number {
    return this.counts.size;
  }
}
