import { SingleBar, Presets } from 'cli-progress';
import type { Progress } from '../activities/types';
import { formatEta, formatRate } from './run-progress';

/** A live bar on a TTY; one line per update elsewhere (CI logs, pipes). */
export class ProgressBar {
  private bar?: SingleBar;
  private lastLine = '';
  private lastRows = 0;
  private readonly tty = !!process.stdout.isTTY;

  update(p: Progress): void {
    const total = p.total ?? p.rows;
    this.lastRows = Math.max(this.lastRows, p.rows);
    // `etaText`, not `eta`: cli-progress fills {eta} itself (INF before the first rows), over the payload's.
    const payload = { rate: formatRate(p.rate), etaText: formatEta(p.etaSeconds), totalText: `~${Math.max(total, p.rows)}` };
    if (this.tty) {
      if (!this.bar) {
        this.bar = new SingleBar(
          { format: '  {bar} {percentage}% | {value}/{totalText} rows | {rate} | ETA {etaText}', hideCursor: true, clearOnComplete: false },
          Presets.shades_classic,
        );
        this.bar.start(total, p.rows, payload);
      }
      this.bar.setTotal(Math.max(total, p.rows));
      this.bar.update(p.rows, payload);
      return;
    }
    const line = `  ${p.rows}/~${total} rows | ${payload.rate} | ETA ${payload.etaText}`;
    if (line !== this.lastLine) console.log(line);
    this.lastLine = line;
  }

  /**
   * The run completed its range: the bar at 100 %, at the rows it ended with. The last heartbeat may be a page or
   * more behind, and the total (~) was the source's estimate: it stopped at 79 % of it (an acceptance run).
   */
  finish(rows: number): void {
    const final = Math.max(this.lastRows, rows);
    if (this.bar) {
      this.bar.setTotal(final);
      this.bar.update(final, { totalText: `${final}`, etaText: 'done' });
    } else if (!this.tty && this.lastLine) console.log(`  ${final}/${final} rows | done`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
