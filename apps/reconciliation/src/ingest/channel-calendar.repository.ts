import { DEFAULT_ZONE } from '@app/contracts';
import type { DataSource } from 'typeorm';
import type { ChannelCalendar } from './internal-transaction.js';

interface CalendarRow {
  channel: string;
  zone: string;
  cutoff_local_time: string;
}

export const DEFAULT_CHANNEL_CALENDAR: ChannelCalendar = { zone: DEFAULT_ZONE, cutoffLocalTime: '00:00' };

/**
 * Channel calendars change rarely and are read for every event: keep them in memory, reloaded
 * periodically, rather than joining on every insert.
 */
export class ChannelCalendarCache {
  private calendars = new Map<string, ChannelCalendar>();
  private loadedAt = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly refreshMs = 60_000,
  ) {}

  async refreshIfStale(): Promise<void> {
    if (Date.now() - this.loadedAt < this.refreshMs) return;
    const rows = await this.dataSource.query<CalendarRow[]>(
      'SELECT channel, zone, cutoff_local_time FROM reconciliation.channel_calendar',
    );
    this.calendars = new Map(
      rows.map((r) => [r.channel, { zone: r.zone, cutoffLocalTime: r.cutoff_local_time }]),
    );
    this.loadedAt = Date.now();
  }

  calendarOf(channel: string): ChannelCalendar {
    return this.calendars.get(channel) ?? DEFAULT_CHANNEL_CALENDAR;
  }
}
