import 'reflect-metadata';
import { bootstrapService } from '@app/messaging';
import { ClearingModule } from './clearing.module.js';

await bootstrapService('clearing', ClearingModule);
