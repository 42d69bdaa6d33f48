/**
 * A connection's "extra statistics", as the server keeps them (`RequestStatistics.cs`): the time
 * from sending a message to that connection to its ack or nack there, in whole milliseconds, over
 * the last 1,000 messages, reported as Mean, Median, Fastest, Quintile 1–5, 90%, 95%, 99%, 99.5%,
 * 99.9% and Highest.
 */

/** How many of the latest round trips are kept (the server's window). */
const WINDOW = 1000;

/** The server's index for a percentile of `size` sorted items: `floor(p% × size)`, at most the last. */
function percentileIndex(percentile: number, size: number): number {
  const index = Math.floor((percentile * size) / 100);
  return index === size ? index - 1 : index;
}

export class RequestStatistics {
  /** Message id → when it was sent (ms, monotonic). */
  private readonly started = new Map<string, number>();
  /** Round trips in ms, oldest first, at most WINDOW. */
  private readonly measurements: number[] = [];

  /** A message went out; sending the same id again restarts its clock, as on the server. */
  start(id: string, now: number): void {
    this.started.set(id, now);
  }

  /** An ack or nack for `id` arrived on this connection; ids it never sent are ignored. */
  end(id: string, now: number): void {
    const start = this.started.get(id);
    if (start === undefined) return;
    this.started.delete(id);
    if (this.measurements.length >= WINDOW) this.measurements.shift();
    this.measurements.push(Math.floor(now - start));
  }

  /** The named measurements, in the server's order; none before the first round trip. */
  report(): [string, number][] {
    const items = [...this.measurements].sort((a, b) => a - b);
    const size = items.length;
    if (size === 0) return [];
    const at = (percentile: number) => items[percentileIndex(percentile, size)]!;
    const sum = items.reduce((total, item) => total + item, 0);
    const report: [string, number][] = [
      ['Mean', Math.floor(sum / size)],
      ['Median', items[Math.floor(size / 2)]!],
      ['Fastest', items[0]!],
    ];
    for (let quintile = 0; quintile < 5; quintile++)
      report.push([`Quintile ${quintile + 1}`, at(quintile * 20)]);
    for (const percentile of [90, 95, 99, 99.5, 99.9]) report.push([`${percentile}%`, at(percentile)]);
    report.push(['Highest', items[size - 1]!]);
    return report;
  }
}
