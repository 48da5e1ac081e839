import 'reflect-metadata';
import { bootstrapService } from '@app/messaging';
import { SettlementModule } from './settlement.module.js';

await bootstrapService('settlement', SettlementModule);
