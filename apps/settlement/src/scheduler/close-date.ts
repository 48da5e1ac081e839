import type { BusinessCalendar } from '../domain.js';

/**
 * A timer may fire a little early (or a clock step back by a few ms); a cut-off tick within this
 * much before the cut-off still belongs to the business date the cut-off starts.
 */
export const CUTOFF_TICK_TOLERANCE_MS = 60_000;

/**
 * The business date to close when the calendar's cut-off (日切) fires at `firedAt`: the business date
 * that starts at that cut-off — not the one that just ended.
 *
 * Why: a cycle closes on the business day its payout falls due (closesOn = payoutDueOn, see
 * cycle/settlement-cycle.ts), and closesOn is always strictly after the cycle's last business date.
 * At the cut-off that starts date D, every business date before D has ended, so each cycle due on D
 * is complete and D's close can run at once; its entries are effective at D's start, the same
 * instant (businessDateBounds(D).start). A cut-off starting a weekend day or holiday closes nothing:
 * no cycle closes on a non-business day.
 */
export function closeDateAtCutoff(calendar: BusinessCalendar, firedAt: Date): string {
  return calendar.businessDateOf(new Date(firedAt.getTime() + CUTOFF_TICK_TOLERANCE_MS));
}

/** The six-field cron expression (seconds first) firing daily at a 'HH:mm' or 'HH:mm:ss' local time. */
export function cutoffCronExpression(cutoffLocalTime: string): string {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(cutoffLocalTime);
  if (!m) throw new Error(`cut-off "${cutoffLocalTime}" is not 'HH:mm' or 'HH:mm:ss'`);
  const [, hh, mm, ss] = m;
  return `${Number(ss ?? 0)} ${Number(mm)} ${Number(hh)} * * *`;
}
