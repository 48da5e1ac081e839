import { ApiError } from '@app/http';
import {
  HttpStatus,
  Injectable,
  Logger,
  PayloadTooLargeException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { MulterModuleOptions } from '@nestjs/platform-express';
import multer from 'multer';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { catchError, finalize, mergeMap, type Observable } from 'rxjs';

/**
 * Statement uploads stream to disk (multer diskStorage), never to memory: a channel statement can
 * reach 1 GB. Each upload gets a directory of its own under this process's upload root, holding the
 * file under the name the operator uploaded (the import records it as the statement's file name);
 * the directory is removed once the request is over, whatever its outcome.
 */
@Injectable()
export class StatementUploads implements OnApplicationShutdown {
  private readonly logger = new Logger('StatementUploads');

  private constructor(
    /** The process's upload root, removed at shutdown with anything a crash of a request left behind. */
    readonly root: string,
    readonly maxBytes: number,
  ) {}

  /** Under os.tmpdir() (TMPDIR): it needs room for as many uploads as run at once. */
  static async create(maxBytes: number): Promise<StatementUploads> {
    return new StatementUploads(await mkdtemp(path.join(os.tmpdir(), 'cse-statement-uploads-')), maxBytes);
  }

  multerOptions(): MulterModuleOptions {
    return {
      storage: multer.diskStorage({
        destination: (req, _file, callback) => {
          mkdtemp(path.join(this.root, 'upload-')).then(
            (dir) => {
              (req as UploadRequest)[UPLOAD_DIR] = dir;
              callback(null, dir);
            },
            (error: Error) => callback(error, ''),
          );
        },
        filename: (_req, file, callback) => callback(null, safeFileName(file.originalname)),
      }),
      limits: { fileSize: this.maxBytes, files: 1, fields: 8, fieldSize: 1024 },
      // Browsers and fetch send the file name as raw UTF-8 (e.g. 微信支付账单.csv).
      defParamCharset: 'utf8',
    };
  }

  /**
   * Removes what a request stored; safe to call when it stored nothing. Never fails the request: a
   * directory that cannot be removed now goes with the upload root at shutdown.
   */
  async release(req: unknown): Promise<void> {
    const dir = (req as UploadRequest)[UPLOAD_DIR];
    if (dir === undefined) return;
    delete (req as UploadRequest)[UPLOAD_DIR];
    try {
      await rm(dir, { recursive: true, force: true });
    } catch (error) {
      this.logger.warn(`could not remove the upload ${dir}: ${String(error)}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

const UPLOAD_DIR = Symbol('statementUploadDir');
type UploadRequest = { [UPLOAD_DIR]?: string };

/** The uploaded name without any directory part or control characters, bounded; never empty. */
export function safeFileName(originalName: string): string {
  const base = path.basename(originalName.replaceAll('\\', '/'));
  // eslint-disable-next-line no-control-regex
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'statement' : cleaned;
}

/**
 * Bound before FileInterceptor: turns multer's size refusal into STATEMENT.FILE_TOO_LARGE (413)
 * naming the limit, and removes the upload's directory once the request is done, whether the
 * import succeeded, the fields were refused, or the upload itself failed.
 */
@Injectable()
export class StatementUploadInterceptor implements NestInterceptor {
  constructor(private readonly uploads: StatementUploads) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<unknown>();
    // Removed before the response goes out, so a client that sees the response sees no file left.
    return next.handle().pipe(
      mergeMap(async (value: unknown) => {
        await this.uploads.release(req);
        return value;
      }),
      catchError(async (error: unknown) => {
        await this.uploads.release(req);
        throw this.uploadError(error);
      }),
      // A client that disconnects unsubscribes instead: the directory goes all the same.
      finalize(() => void this.uploads.release(req)),
    );
  }

  private uploadError(error: unknown): unknown {
    if (error instanceof PayloadTooLargeException)
      return new ApiError(
        HttpStatus.PAYLOAD_TOO_LARGE,
        'STATEMENT.FILE_TOO_LARGE',
        `the statement file is larger than the upload limit of ${this.uploads.maxBytes} bytes (STATEMENT_UPLOAD_MAX_BYTES)`,
        { limitBytes: this.uploads.maxBytes },
        { cause: error },
      );
    return error;
  }
}
