import 'reflect-metadata';
import { bootstrapService } from '@app/messaging';
import { ReconciliationModule } from './reconciliation.module.js';

await bootstrapService('reconciliation', ReconciliationModule);
