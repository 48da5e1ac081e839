import { Controller, Get, Inject, Res } from '@nestjs/common';
import { Access } from '@app/http';
import { DataSource } from 'typeorm';
import type { PlatformConfig } from '@app/platform';
import { outboxNotReadyReasons, outboxStatus, type OutboxStatus } from './outbox-status.js';
import { PLATFORM_CONFIG, SERVICE_SCHEMA } from './tokens.js';

export interface Readiness {
  status: 'ready' | 'not-ready';
  schema: string;
  reasons: string[];
  outbox: OutboxStatus;
}

/**
 * `GET /health`: liveness — the process answers and reaches its database (restart it if not).
 * `GET /health/ready`: readiness — also that what it owes other services is flowing; 503 while an
 * outbox row is parked or the oldest unpublished one is too old, so monitoring and deployments see
 * a jammed outbox, not "ok".
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_SCHEMA) private readonly schema: string,
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
  ) {}

  @Get()
  @Access.public()
  async health(): Promise<{ status: 'ok'; schema: string; database: 'up' }> {
    await this.dataSource.query('SELECT 1');
    return { status: 'ok', schema: this.schema, database: 'up' };
  }

  @Get('ready')
  // Open like liveness (probes carry no token); the parked rows' keys (merchant or record ids) stay
  // out of it: `cse messaging status` shows them to operators.
  @Access.public()
  async ready(@Res({ passthrough: true }) response: { status(code: number): unknown }): Promise<Readiness> {
    const status = await outboxStatus(this.dataSource, this.schema, { parkedLimit: 20 });
    const outbox = { ...status, parked: status.parked.map((row) => ({ ...row, key: null })) };
    const reasons = outboxNotReadyReasons(outbox, this.config.outboxUnpublishedAgeMaxMs);
    if (reasons.length > 0) response.status(503);
    return { status: reasons.length === 0 ? 'ready' : 'not-ready', schema: this.schema, reasons, outbox };
  }
}
