/**
 * Two clocks. The wall clock (what clients sign with) checks `X-Sdk-Date`; the simulated clock drives
 * everything that takes time in the cloud (asynchronous deletions, DDS jobs, AK lock-out, token expiry).
 * Simulated time runs `timeScale` times faster than the wall clock and can be pushed forward with
 * `advance(ms)`, so tests never sleep through a 30-minute deletion or a 5-minute lock-out.
 */
export class SimClock {
  private readonly wallAtStart: number;
  private advancedMs = 0;

  constructor(
    private readonly wall: () => number,
    private readonly timeScale: number,
  ) {
    if (!(timeScale > 0)) throw new RangeError('timeScale must be a positive number');
    this.wallAtStart = wall();
  }

  wallNow(): number {
    return this.wall();
  }

  now(): number {
    const wall = this.wall();
    return this.wallAtStart + (wall - this.wallAtStart) * this.timeScale + this.advancedMs;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('advance takes a non-negative number of milliseconds');
    this.advancedMs += ms;
  }
}
