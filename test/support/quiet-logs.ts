import { Logger } from '@nestjs/common';

// Integration tests boot real services: keep their start-up chatter out of the test log, but not
// their warnings and errors, which are what explains a failure.
Logger.overrideLogger(['error', 'warn']);
