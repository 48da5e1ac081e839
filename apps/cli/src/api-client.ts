import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { CliError, terminalSafe, UsageError } from './output.js';

/**
 * The one way the CLI changes state: the services' HTTP API with a bearer token, so every command
 * meets the same authentication, authorization, maker-checker and audit as any other client (one
 * enforcement point, issue 15). Read-only reports and administration keep their database access.
 *
 * - token: `--token-file <path>` (first), else `CSE_TOKEN`; none → the request goes without one and
 *   the service answers 401, which says how to get one;
 * - service base URLs: CSE_RECONCILIATION_URL, CSE_CLEARING_URL, CSE_SETTLEMENT_URL;
 * - Idempotency-Key: `--idempotency-key`, else one generated per command (printed, so a retry of a
 *   lost answer can repeat it).
 */
export const SERVICES = {
  reconciliation: { env: 'CSE_RECONCILIATION_URL', default: 'http://127.0.0.1:3001' },
  clearing: { env: 'CSE_CLEARING_URL', default: 'http://127.0.0.1:3002' },
  settlement: { env: 'CSE_SETTLEMENT_URL', default: 'http://127.0.0.1:3003' },
} as const;
export type ServiceName = keyof typeof SERVICES;

export const TOKEN_ENV = 'CSE_TOKEN';
/** Development only: the principal a service in AUTH_MODE=development takes the caller to be. */
export const DEV_PRINCIPAL_ENV = 'CSE_PRINCIPAL';

/** Exit codes of a refused call: 2 the request as given cannot be done (4xx), 3 who you are (401/403). */
export const EXIT_REFUSED = 2;
export const EXIT_UNAUTHORIZED = 3;

/** The options every API command takes. */
export interface ApiCommandOptions {
  tokenFile?: string;
  idempotencyKey?: string;
}

/** The error body every service answers with (libs/http ApiErrorBody). */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

/** A service refused the call (4xx) or failed (5xx): its code and message, and the exit code. */
export class ApiCallError extends CliError {
  override readonly name = 'ApiCallError';
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    message: string,
    exitCode: number,
  ) {
    super(message, exitCode);
  }
}

export interface ApiResponse<T> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
}

const TOKEN_SYNTAX = /^[A-Za-z0-9._~+/-]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/** The bearer token the caller configured, or undefined when none is (the service then says 401). */
export async function resolveToken(
  options: { tokenFile?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  let token: string;
  let source: string;
  if (options.tokenFile !== undefined) {
    source = `--token-file ${options.tokenFile}`;
    try {
      token = (await readFile(options.tokenFile, 'utf8')).trim();
    } catch (error) {
      throw new UsageError(`${source}: cannot read the file (${(error as NodeJS.ErrnoException).code})`);
    }
  } else {
    const fromEnv = env[TOKEN_ENV]?.trim();
    if (fromEnv === undefined || fromEnv === '') return undefined;
    token = fromEnv;
    source = TOKEN_ENV;
  }
  if (token.startsWith('Bearer ') || token.startsWith('bearer ')) token = token.slice(7).trim();
  if (token === '' || token.length > MAX_TOKEN_LENGTH || !TOKEN_SYNTAX.test(token))
    throw new UsageError(`${source}: not a bearer token (one JWT, e.g. from \`cse auth token\`)`);
  return token;
}

/** The base URL of a service: its env variable, else the local default. */
export function serviceUrl(service: ServiceName, env: NodeJS.ProcessEnv = process.env): URL {
  const { env: name, default: fallback } = SERVICES[service];
  const raw = env[name]?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${name} must be an http(s) URL, got "${raw}"`);
  return url;
}

/** A multipart/form-data part: a text field, or a file streamed from disk. */
export type FormPart =
  { name: string; value: string } | { name: string; file: string; fileName: string; contentType?: string };

/** One service's API, with the caller's token. */
export class ApiClient {
  private constructor(
    readonly service: ServiceName,
    readonly base: URL,
    private readonly token: string | undefined,
    /** Sent as X-CSE-Principal when there is no token (a service in AUTH_MODE=development reads it). */
    private readonly devPrincipal: string | undefined = undefined,
  ) {}

  static async for(
    service: ServiceName,
    options: { tokenFile?: string } = {},
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<ApiClient> {
    const token = await resolveToken(options, env);
    const devPrincipal = env[DEV_PRINCIPAL_ENV]?.trim() || undefined;
    if (devPrincipal !== undefined && !/^[\p{L}\p{N}._:@-]{1,200}$/u.test(devPrincipal))
      throw new UsageError(`${DEV_PRINCIPAL_ENV} must be a principal id, got "${devPrincipal}"`);
    return new ApiClient(
      service,
      serviceUrl(service, env),
      token,
      token === undefined ? devPrincipal : undefined,
    );
  }

  /** A client with a token given directly (the demo, which holds one per person). */
  static withToken(service: ServiceName, token: string, env: NodeJS.ProcessEnv = process.env): ApiClient {
    return new ApiClient(service, serviceUrl(service, env), token);
  }

  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /** A JSON request; a 2xx answer's JSON body, or ApiCallError. */
  async json<T>(
    method: 'GET' | 'POST',
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const response = await this.send(method, route, {
      headers: {
        accept: 'application/json',
        ...(payload === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': String(payload.length) }),
        ...headers,
      },
      write: (req) => req.end(payload),
    });
    const text = await readBody(response);
    return { status: response.statusCode ?? 0, headers: response.headers, body: parseJson<T>(text) };
  }

  /** A GET whose 2xx body is returned as a stream (a CSV), unread. */
  async stream(route: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    return this.send('GET', route, { headers, write: (req) => req.end() });
  }

  /**
   * A multipart/form-data POST built as a stream: the text fields, then each file read from disk in
   * 1 MiB chunks straight into the socket. Nothing is held in memory but a chunk, whatever the
   * file's size; Content-Length is exact (the service refuses an oversized upload before reading it).
   */
  async multipart<T>(
    route: string,
    parts: FormPart[],
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const boundary = `----cse-${randomUUID()}`;
    const segments: (Buffer | { file: string; size: number })[] = [];
    for (const part of parts) {
      if ('value' in part) {
        segments.push(
          Buffer.from(
            `--${boundary}\r\ncontent-disposition: form-data; name="${quoted(part.name)}"\r\n\r\n${part.value}\r\n`,
            'utf8',
          ),
        );
      } else {
        let size: number;
        try {
          size = (await stat(part.file)).size;
        } catch {
          throw new UsageError(`--file ${part.file}: cannot read the file`);
        }
        segments.push(
          Buffer.from(
            `--${boundary}\r\ncontent-disposition: form-data; name="${quoted(part.name)}"; filename="${quoted(part.fileName)}"\r\n` +
              `content-type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
            'utf8',
          ),
          { file: part.file, size },
          Buffer.from('\r\n', 'utf8'),
        );
      }
    }
    segments.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
    const length = segments.reduce((n, s) => n + (Buffer.isBuffer(s) ? s.length : s.size), 0);
    const response = await this.send('POST', route, {
      headers: {
        accept: 'application/json',
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(length),
        ...headers,
      },
      write: (req, state) => {
        writeSegments(req, segments, state).catch((error: unknown) => {
          if (!state.answered) req.destroy(error as Error);
        });
      },
    });
    const text = await readBody(response);
    return { status: response.statusCode ?? 0, headers: response.headers, body: parseJson<T>(text) };
  }

  private send(
    method: string,
    route: string,
    request: { headers: Record<string, string>; write: (req: http.ClientRequest, state: SendState) => void },
  ): Promise<IncomingMessage> {
    const url = new URL(
      route.replace(/^\//, ''),
      this.base.href.endsWith('/') ? this.base : `${this.base.href}/`,
    );
    const transport = url.protocol === 'https:' ? https : http;
    const state: SendState = { answered: false };
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const req = transport.request(
        url,
        {
          method,
          headers: {
            ...request.headers,
            ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
            ...(this.devPrincipal === undefined ? {} : { 'x-cse-principal': this.devPrincipal }),
            'user-agent': 'cse-cli',
          },
        },
        (response) => {
          // The service may answer before the whole body was sent (a 401 before an upload is read):
          // the rest is not sent, and a broken pipe after the answer is no longer an error.
          state.answered = true;
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            settled = true;
            resolve(response);
            return;
          }
          readBody(response).then(
            (text) => {
              fail(this.refusal(status, text));
              req.destroy();
            },
            (error: unknown) => fail(error as Error),
          );
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (!state.answered) fail(this.connectionError(url, error));
      });
      request.write(req, state);
    });
  }

  private refusal(status: number, text: string): ApiCallError {
    let body: ApiErrorBody;
    try {
      const parsed = JSON.parse(text) as Partial<ApiErrorBody>;
      body = {
        statusCode: status,
        error: typeof parsed.error === 'string' ? parsed.error : `HTTP.${status}`,
        message: typeof parsed.message === 'string' ? parsed.message : text.slice(0, 500),
        ...(parsed.details === undefined ? {} : { details: parsed.details }),
      };
    } catch {
      body = { statusCode: status, error: `HTTP.${status}`, message: text.slice(0, 500) };
    }
    const said = `${terminalSafe(body.error)}: ${terminalSafe(body.message)}`;
    const where = `${this.service} service at ${this.base.origin}`;
    if (status === 401)
      return new ApiCallError(
        status,
        body,
        `not authenticated (401) by the ${where}: ${said}` +
          (this.token === undefined
            ? `; no token was sent: set ${TOKEN_ENV} or pass --token-file <path> (development: \`cse auth token\`)`
            : ''),
        EXIT_UNAUTHORIZED,
      );
    if (status === 403)
      return new ApiCallError(status, body, `not allowed (403) by the ${where}: ${said}`, EXIT_UNAUTHORIZED);
    if (status >= 400 && status < 500)
      return new ApiCallError(status, body, `refused (${status}) by the ${where}: ${said}`, EXIT_REFUSED);
    return new ApiCallError(status, body, `the ${where} failed (${status}): ${said}`, 1);
  }

  private connectionError(url: URL, error: NodeJS.ErrnoException): Error {
    const { env } = SERVICES[this.service];
    if (error instanceof ApiCallError) return error;
    const reason =
      error.code === 'ECONNREFUSED'
        ? 'connection refused'
        : error.code === 'ENOTFOUND'
          ? 'host not found'
          : (error.code ?? error.message);
    return new CliError(
      `cannot reach the ${this.service} service at ${url.origin} (${reason}); is it running? Its URL is ${env}`,
      1,
    );
  }
}

interface SendState {
  /** The service has answered: whatever is left of the body is not sent. */
  answered: boolean;
}

async function writeSegments(
  req: http.ClientRequest,
  segments: (Buffer | { file: string; size: number })[],
  state: SendState,
): Promise<void> {
  const write = (chunk: Buffer) =>
    new Promise<void>((resolve, reject) => {
      if (req.destroyed) return reject(new Error('the request was closed'));
      if (req.write(chunk)) return resolve();
      const onDrain = () => {
        req.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        req.off('drain', onDrain);
        reject(new Error('the request was closed'));
      };
      req.once('drain', onDrain);
      req.once('close', onClose);
    });
  for (const segment of segments) {
    if (state.answered) return;
    if (Buffer.isBuffer(segment)) {
      await write(segment);
      continue;
    }
    let sent = 0;
    for await (const chunk of createReadStream(segment.file, { highWaterMark: 1 << 20 })) {
      if (state.answered) return;
      sent += (chunk as Buffer).length;
      await write(chunk as Buffer);
    }
    if (sent !== segment.size)
      throw new UsageError(`--file ${segment.file}: the file changed size while it was being sent`);
  }
  req.end();
}

async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson<T>(text: string): T {
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(
      `the service answered something that is not JSON: ${terminalSafe(text.slice(0, 200))}`,
      1,
    );
  }
}

/**
 * A name inside a quoted multipart parameter: quotes and line breaks escaped as browsers do, any
 * other control character left out (a part header cannot carry it; the service drops them anyway).
 */
function quoted(value: string): string {
  return terminalSafe(value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}

/** The Idempotency-Key of a command: the one given, else a new one naming the command. */
export function idempotencyKeyOf(options: ApiCommandOptions, command: string): string {
  if (options.idempotencyKey === undefined) return `cli-${command}-${randomUUID()}`;
  const key = options.idempotencyKey.trim();
  if (key === '' || key.length > 200) throw new UsageError('--idempotency-key must be 1 to 200 characters');
  return key;
}

/** The file name the service records for an upload: the base name, as the operator named it. */
export function uploadName(file: string): string {
  return path.basename(file);
}
