/**
 * Records of one project in list order (newest first), with stable positions so that a CSBS `marker`
 * (the id of the last record of the previous page) still resolves after that record has been deleted:
 * removed records stay in `order` as tombstones until the next `add` rebuilds it.
 */
export class OrderedCollection<T extends { id: string }> {
  private readonly byId = new Map<string, T>();
  private order: T[] = [];
  private readonly position = new Map<string, number>();
  private tombstones = 0;

  constructor(private readonly sortKey: (record: T) => string) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  add(records: readonly T[]): void {
    for (const record of records) this.byId.set(record.id, record);
    this.order = [...this.byId.values()];
    const key = this.sortKey;
    // Newest first; ties broken by id so the order is total and deterministic.
    this.order.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return ka < kb ? 1 : ka > kb ? -1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    this.position.clear();
    for (let i = 0; i < this.order.length; i++) this.position.set((this.order[i] as T).id, i);
    this.tombstones = 0;
  }

  remove(id: string): boolean {
    if (!this.byId.delete(id)) return false;
    this.tombstones += 1;
    return true;
  }

  /** Index just after `marker` in list order; undefined when the marker was never a record here. */
  indexAfter(marker: string): number | undefined {
    const at = this.position.get(marker);
    return at === undefined ? undefined : at + 1;
  }

  /** Live records from `start` (an index into the list order) that pass `filter`, at most `limit`. */
  page(start: number, limit: number, filter?: (record: T) => boolean): { records: T[]; more: boolean } {
    const records: T[] = [];
    for (let i = start; i < this.order.length; i++) {
      const record = this.order[i] as T;
      if (this.tombstones > 0 && this.byId.get(record.id) !== record) continue;
      if (filter && !filter(record)) continue;
      if (records.length === limit) return { records, more: true };
      records.push(record);
    }
    return { records, more: false };
  }

  /** Offset pagination over live records passing `filter`; `count` is the number of all matches. */
  slice(offset: number, limit: number, filter?: (record: T) => boolean): { records: T[]; count: number } {
    if (!filter && this.tombstones === 0) {
      return { records: this.order.slice(offset, offset + limit), count: this.order.length };
    }
    const records: T[] = [];
    let count = 0;
    for (const record of this.order) {
      if (this.tombstones > 0 && this.byId.get(record.id) !== record) continue;
      if (filter && !filter(record)) continue;
      if (count >= offset && records.length < limit) records.push(record);
      count += 1;
    }
    return { records, count };
  }

  values(): IterableIterator<T> {
    return this.byId.values();
  }
}
