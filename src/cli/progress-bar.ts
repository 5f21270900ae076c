import { SingleBar, Presets } from 'cli-progress';
import type { Progress } from '../activities/types';
import { formatEta, formatRate } from './run-progress';

/** A live bar on a TTY; one line per update elsewhere (CI logs, pipes). */
export class ProgressBar {
  private bar?: SingleBar;
  private lastLine = '';
  private readonly tty = !!process.stdout.isTTY;

  update(p: Progress): void {
    const total = p.total ?? p.rows;
    // `etaText`, not `eta`: cli-progress fills {eta} itself (INF before the first rows), over the payload's.
    const payload = { rate: formatRate(p.rate), etaText: formatEta(p.etaSeconds) };
    if (this.tty) {
      if (!this.bar) {
        this.bar = new SingleBar(
          { format: '  {bar} {percentage}% | {value}/{total} rows | {rate} | ETA {etaText}', hideCursor: true, clearOnComplete: false },
          Presets.shades_classic,
        );
        this.bar.start(total, p.rows, payload);
      }
      this.bar.setTotal(Math.max(total, p.rows));
      this.bar.update(p.rows, payload);
      return;
    }
    const line = `  ${p.rows}/${total} rows | ${payload.rate} | ETA ${payload.etaText}`;
    if (line !== this.lastLine) console.log(line);
    this.lastLine = line;
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
