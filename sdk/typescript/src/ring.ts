// A bounded FIFO that drops its oldest item when full: O(1) at both ends (an array's shift() is
// O(n)). The backing array grows by doubling up to the bound, so a large bound costs nothing
// until it is used.

export class Ring<T> {
  private buf: (T | undefined)[] = new Array<T | undefined>(64);
  private mask = 63;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {}

  /** Appends `item`; returns true when the oldest item had to go to make room. */
  push(item: T): boolean {
    let dropped = false;
    if (this.size >= this.capacity) {
      this.shift(1);
      dropped = true;
    } else if (this.size === this.buf.length) {
      this.grow();
    }
    this.buf[(this.head + this.size) & this.mask] = item;
    this.size++;
    return dropped;
  }

  /** The `i`-th oldest item. */
  at(i: number): T | undefined {
    return i < this.size ? this.buf[(this.head + i) & this.mask] : undefined;
  }

  /** Removes the `n` oldest items. */
  shift(n: number): void {
    const count = Math.min(n, this.size);
    for (let i = 0; i < count; i++) this.buf[(this.head + i) & this.mask] = undefined;
    this.head = (this.head + count) & this.mask;
    this.size -= count;
  }

  clear(): void {
    this.shift(this.size);
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) & this.mask];
    this.buf = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}
