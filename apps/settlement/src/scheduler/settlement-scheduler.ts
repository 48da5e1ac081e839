import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Ledger } from '@app/ledger';
import { PLATFORM_CONFIG } from '@app/messaging';
import type { PlatformConfig } from '@app/platform';
import { CronJob } from 'cron';
import { DataSource } from 'typeorm';
import type { BusinessCalendar } from '../domain.js';
import { PayoutService, payoutServiceOptionsOf } from '../payout/payout.service.js';
import {
  CycleCloseService,
  SettlementCloseBusyError,
  type CloseResult,
} from '../settlement/cycle-close.service.js';
import { loadBusinessCalendar } from '../settlement/settlement-config.js';
import { closeDateAtCutoff, cutoffCronExpression } from './close-date.js';

export const CYCLE_CLOSE_JOB = 'settlement-cycle-close';
export const PAYOUT_LOOP = 'settlement-payouts';
export const SCHEDULED_CLOSE_BY = 'system:scheduler';

/**
 * Settlement's own clock (SETTLEMENT_SCHEDULER, on by default):
 *   - the cycle close (结算日终) at the business calendar's cut-off, in its zone, both read from
 *     settlement.business_calendar at boot (a changed zone or cut-off needs a restart). It closes the
 *     business date the cut-off starts (closeDateAtCutoff). At boot it also closes today's business
 *     date, so a cut-off missed while the service was down is caught up;
 *   - the payout loop, every SETTLEMENT_PAYOUT_POLL_MS: approved records' payouts requested, due
 *     retries started, and payouts without a definitive answer for SETTLEMENT_PAYOUT_QUERY_AFTER_MS
 *     queried at the gateway (PayoutService.queryOverdue).
 * Replicas and restarts are harmless: closing a date twice creates nothing new, a close racing
 * another of the same date is refused by its advisory lock (logged, not retried), and payout
 * requests are picked FOR UPDATE SKIP LOCKED. A failure is logged and the next tick tries again:
 * the service never stops for it. Shutdown waits for the run in progress.
 */
@Injectable()
export class SettlementScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SettlementScheduler');
  private readonly closes: CycleCloseService;
  private readonly payouts: PayoutService;
  private readonly inFlight = new Set<Promise<unknown>>();
  private payoutsRunning = false;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    ledger: Ledger,
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    private readonly registry: SchedulerRegistry,
  ) {
    this.closes = new CycleCloseService(dataSource, ledger);
    this.payouts = new PayoutService(dataSource, ledger, payoutServiceOptionsOf(config));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.settlementScheduler) {
      this.logger.log('off (SETTLEMENT_SCHEDULER): closes and payouts run only on demand');
      return;
    }
    const calendar = await loadBusinessCalendar(this.dataSource);
    const job = CronJob.from({
      cronTime: cutoffCronExpression(calendar.cutoffLocalTime),
      timeZone: calendar.zone,
      onTick: () => this.track(this.closeDate(closeDateAtCutoff(calendar, new Date()))),
      start: false,
    });
    this.registry.addCronJob(CYCLE_CLOSE_JOB, job);
    job.start();
    this.registry.addInterval(
      PAYOUT_LOOP,
      setInterval(() => this.track(this.runPayouts()), this.config.settlementPayoutPollMs),
    );
    this.logger.log(
      `cycle close daily at ${calendar.cutoffLocalTime} ${calendar.zone}; payouts every ${this.config.settlementPayoutPollMs} ms`,
    );
    this.track(this.closeDate(this.todayOf(calendar)));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.registry.doesExist('cron', CYCLE_CLOSE_JOB)) this.registry.deleteCronJob(CYCLE_CLOSE_JOB);
    if (this.registry.doesExist('interval', PAYOUT_LOOP)) this.registry.deleteInterval(PAYOUT_LOOP);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Closes `date`; never throws. */
  async closeDate(date: string): Promise<CloseResult | null> {
    if (this.stopped) return null;
    try {
      const result = await this.closes.close(date, { by: SCHEDULED_CLOSE_BY });
      this.logger.log(
        result.nothingNew
          ? `close ${date}: nothing new (${result.recordsAlreadyClosed} records already closed)`
          : `close ${date}: ${result.recordsCreated} records, ${result.itemsSettled} items`,
      );
      for (const m of result.merchantsHeldBack)
        this.logger.warn(`close ${date}: held back ${m.merchantId}: ${m.message}`);
      return result;
    } catch (error) {
      if (error instanceof SettlementCloseBusyError) this.logger.log(`close ${date}: ${error.message}`);
      else this.logger.error(`close ${date} failed: ${(error as Error).stack ?? String(error)}`);
      return null;
    }
  }

  /** One pass of the payout loop; never throws, and skips a tick while the previous pass runs. */
  async runPayouts(): Promise<void> {
    if (this.stopped || this.payoutsRunning) return;
    this.payoutsRunning = true;
    try {
      const outcomes = await this.payouts.requestPayouts();
      const retries = await this.payouts.startDueRetries();
      const queries = await this.payouts.queryOverdue();
      const refused = outcomes.filter((o) => o.outcome === 'REFUSED');
      if (outcomes.length > 0 || retries.length > 0 || queries.length > 0)
        this.logger.log(
          `payouts: ${outcomes.length - refused.length} requested, ${refused.length} refused, ${retries.length} retries started, ${queries.length} overdue answers queried`,
        );
      for (const r of refused)
        this.logger.warn(`payout of record ${r.recordId} refused: ${r.code} ${r.message}`);
      for (const q of queries.filter((q) => q.escalated))
        this.logger.warn(
          `payout of record ${q.recordId}: attempt ${q.attemptId} still unanswered after ${q.queryNo} queries; escalated`,
        );
    } catch (error) {
      this.logger.error(`payout loop failed: ${(error as Error).stack ?? String(error)}`);
    } finally {
      this.payoutsRunning = false;
    }
  }

  private todayOf(calendar: BusinessCalendar): string {
    return calendar.businessDateOf(new Date());
  }

  private track(run: Promise<unknown>): void {
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }
}

/** The scheduled cycle close and payout loop; see SettlementScheduler. */
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [SettlementScheduler],
})
export class SettlementSchedulerModule {}
