import { Controller, Get, Inject } from '@nestjs/common';
import { Access } from '@app/http';
import { DataSource } from 'typeorm';
import { SERVICE_SCHEMA } from './tokens.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_SCHEMA) private readonly schema: string,
  ) {}

  @Get()
  @Access.public()
  async health(): Promise<{ status: 'ok'; schema: string; database: 'up' }> {
    await this.dataSource.query('SELECT 1');
    return { status: 'ok', schema: this.schema, database: 'up' };
  }
}
