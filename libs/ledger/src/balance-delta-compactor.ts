import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { intFromEnv } from '@app/platform';
import { DataSource } from 'typeorm';
import { compactBalanceDeltas } from './ledger-queries.js';

/**
 * Folds the ledger's balance deltas into the balance rows every LEDGER_COMPACTION_INTERVAL_MS
 * (default 10 s; 0 turns it off; off by default under Jest, NODE_ENV=test, so a test decides when).
 * Every posted batch appends a delta per account it raises (ADR 006), so without this the delta
 * table would grow by about one row per cleared payment and every balance read would sum more of
 * them. Each service that posts runs one; they share the work safely (compaction skips rows another
 * compactor holds) and a failed round is logged and tried again at the next tick.
 */
@Injectable()
export class BalanceDeltaCompactor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(BalanceDeltaCompactor.name);
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Deltas folded by this compactor since it started. */
  folded = 0;

  constructor(
    private readonly dataSource: DataSource,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.intervalMs = intFromEnv(
      env,
      'LEDGER_COMPACTION_INTERVAL_MS',
      env.NODE_ENV === 'test' ? 0 : 10_000,
      0,
      86_400_000,
    );
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs === 0) return;
    this.timer = setInterval(() => {
      // One round at a time: a slow round is not joined by the next tick.
      this.running ??= this.compact().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round: folds every delta present when it starts (and any that arrive meanwhile). */
  async compact(): Promise<void> {
    try {
      const result = await compactBalanceDeltas(this.dataSource);
      this.folded += result.deltasFolded;
      if (result.deltasFolded > 0)
        this.logger.debug(`folded ${result.deltasFolded} deltas into ${result.accountsUpdated} balances`);
    } catch (error) {
      this.logger.warn(`balance delta compaction failed, retried next tick: ${(error as Error).message}`);
    }
  }
}
