import { HttpStatus } from '@nestjs/common';
import type { ApiErrorBody, DomainErrorMapper } from '@app/http';
import { MoneyError, TimeError } from '@app/contracts';
import { FeeError, type FeeErrorCode } from '../fees/fee.types.js';

const FEE_STATUS: Record<FeeErrorCode, number> = {
  // The edge has checked the shape; what the fee domain still refuses is well-formed but wrong.
  'FEES.INVALID_RULE': HttpStatus.UNPROCESSABLE_ENTITY,
  'FEES.INVALID_INPUT': HttpStatus.UNPROCESSABLE_ENTITY,
  'FEES.NO_RULE': HttpStatus.NOT_FOUND,
  'FEES.OVERLAP': HttpStatus.CONFLICT,
};

/** The clearing domain's operating errors as response bodies (the rest is @app/http's). */
export const clearingErrorBody: DomainErrorMapper = (exception): ApiErrorBody | undefined => {
  if (exception instanceof FeeError)
    return { statusCode: FEE_STATUS[exception.code], error: exception.code, message: exception.message };
  // Amounts and instants the edge let through as strings but the domain refuses (scale, calendar).
  if (exception instanceof MoneyError || exception instanceof TimeError)
    return {
      statusCode: HttpStatus.UNPROCESSABLE_ENTITY,
      error: exception.code,
      message: exception.message,
    };
  return undefined;
};
